import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { appBundle } from "../../tsdown.app.ts";

// The API reference page's script (Scalar's standalone bundle) ships in dist, served offline.
const scalar = join(
  dirname(createRequire(import.meta.url).resolve("@scalar/api-reference")),
  "browser",
  "standalone.js",
);

export default { ...appBundle(["src/main.ts"]), copy: [{ from: scalar, to: "dist/scalar" }] };
