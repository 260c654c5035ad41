import { workspaceVitest } from "@gsk/testing/vitest-preset";

export default workspaceVitest("@gsk/deploy");
