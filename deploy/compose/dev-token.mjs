// The compose stack's token: made once (random) on the first start, kept in the gsk-secrets
// volume and printed at every start (`docker compose logs token`). The apps read only its hash,
// from API_TOKENS_FILE; nothing secret is written in docker-compose.yml.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "/run/gsk";
const tokenFile = join(dir, "dev-token");
if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(32).toString("base64url"), { mode: 0o600 });
const token = readFileSync(tokenFile, "utf8").trim();
const tokens = [
  {
    id: "compose-dev",
    sha256: createHash("sha256").update(token).digest("hex"),
    scopes: ["data:read", "data:write", "data:delete", "ttl:admin", "archive:admin"],
    accounts: ["*"],
  },
];
writeFileSync(join(dir, "api-tokens.json"), JSON.stringify(tokens), { mode: 0o644 });
process.stdout.write(`dev token (every scope, every account): ${token}\n`);
