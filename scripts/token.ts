/** `npm run token -- --sub alice --org acme [--minutes 60] [--role admin] [--email a@x.io]`: prints a signed token. */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../server/config.js";
import { signAccessToken } from "../server/auth/token.js";

try {
  const { values } = parseArgs({
    options: {
      sub: { type: "string" },
      org: { type: "string" },
      minutes: { type: "string" },
      role: { type: "string" },
      email: { type: "string" },
    },
  });
  const config = loadConfig();
  const minutes = values.minutes === undefined ? config.accessTokenExpireMinutes : Number(values.minutes);
  if (!values.sub || !values.org || !Number.isInteger(minutes) || minutes <= 0) {
    console.error("usage: npm run token -- --sub <user> --org <organization> [--minutes N] [--role R] [--email E]");
    process.exit(2);
  }
  if (config.jwt.publicKey) {
    console.error("JWT_PUBLIC_KEY is set: the service accepts only RS256 tokens from your auth service; this command signs HS256 only.");
    process.exit(2);
  }
  if (config.jwt.jwks) {
    console.error("JWT_JWKS_URL is set: the service accepts only tokens signed by your identity provider's published keys; this command signs HS256 only.");
    process.exit(2);
  }
  if (config.usingDevSecret) console.error("warning: signed with the development SECRET_KEY");
  console.log(
    signAccessToken(
      {
        sub: values.sub,
        organizationId: values.org,
        minutes,
        role: values.role,
        email: values.email,
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
        claims: { organization: config.jwt.orgClaim, sub: config.jwt.subClaim, role: config.jwt.roleClaim },
      },
      config.secretKey,
    ),
  );
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof TypeError ? error.message : error);
  process.exit(2);
}
