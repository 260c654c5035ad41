import * as archiver from "@gsk/archiver/env";
import * as getApi from "@gsk/get-api/env";
import * as ingestWorker from "@gsk/ingest-worker/env";

/** Each app's env schema: the names it reads and its parser (the one its main.ts runs). */
export const APPS = {
  "ingest-worker": ingestWorker,
  "get-api": getApi,
  archiver,
} as const satisfies Record<
  string,
  {
    ENV_NAMES: readonly string[];
    parseEnv: (source: Record<string, string | undefined>) => { PORT: number };
    /** The Node flags the app runs with (NODE_OPTIONS of its deployments). */
    NODE_OPTIONS: string;
  }
>;

export type AppName = keyof typeof APPS;

export function isApp(name: string): name is AppName {
  return Object.hasOwn(APPS, name);
}

/** Variables read by Node or libraries rather than by the apps' schemas: NODE_OPTIONS, the AWS SDK's and OpenTelemetry's. */
function isLibraryVariable(name: string): boolean {
  return (
    name === "NODE_OPTIONS" ||
    /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE)$/.test(
      name,
    ) ||
    name.startsWith("OTEL_")
  );
}

/** The names of `env` that `app` does not read (a typo, or a variable meant for another app). */
export function unknownVariables(app: AppName, env: Record<string, string>): string[] {
  const known = new Set(APPS[app].ENV_NAMES);
  return Object.keys(env).filter((name) => !known.has(name) && !isLibraryVariable(name));
}
