import { appBundle } from "../../tsdown.app.ts";

export default appBundle(["src/main.ts", "src/cli.ts"]);
