import { workspaceVitest } from "./src/vitest-preset.ts";

export default workspaceVitest("@gsk/testing");
