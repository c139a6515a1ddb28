import { Pool } from 'pg';
import { verifyAuditLog } from '@ocireg/audit';

/**
 * Verifies the audit log straight from the database, without the services
 * (`registryctl audit verify` asks metadata): for an operator who trusts
 * neither. Prints the report as JSON; exits 1 when a chain does not verify.
 *
 *   DATABASE_URL=... node services/metadata/dist/audit-verify-cli.js
 */
async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL: not set');
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const verified = await verifyAuditLog(pool);
    process.stdout.write(`${JSON.stringify(verified, null, 2)}\n`);
    if (!verified.ok) process.exitCode = 1;
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(`audit verify: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
