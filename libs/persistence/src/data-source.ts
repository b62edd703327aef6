import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities/entities';
import { Initial1763700000000 } from './migrations/1763700000000-initial';
import { MeshAndPki1763800000000 } from './migrations/1763800000000-mesh-and-pki';
import { Reconcile1763900000000 } from './migrations/1763900000000-reconcile';
import { Lifecycle1764000000000 } from './migrations/1764000000000-lifecycle';
import { ChangeNotify1764050000000 } from './migrations/1764050000000-change-notify';
import { Limits1764100000000 } from './migrations/1764100000000-limits';
import { PurgeDeletedSecrets1764150000000 } from './migrations/1764150000000-purge-deleted-secrets';
import { OutboxNotify1764230000000 } from './migrations/1764230000000-outbox-notify';
import { ApiKeyNotify1764300000000 } from './migrations/1764300000000-api-key-notify';
import { RegistrationRetry1764310000000 } from './migrations/1764310000000-registration-retry';
import { KubeStatus1764400000000 } from './migrations/1764400000000-kube-status';
import { Autoscaling1764500000000 } from './migrations/1764500000000-autoscaling';
import { CertificateExpirations1764700000000 } from './migrations/1764700000000-certificate-expirations';
import { AgentVersions1764800000000 } from './migrations/1764800000000-agent-versions';
import { Identity1764900000000 } from './migrations/1764900000000-identity';

export const MIGRATIONS = [
  Initial1763700000000, MeshAndPki1763800000000, Reconcile1763900000000, Lifecycle1764000000000, ChangeNotify1764050000000,
  Limits1764100000000, PurgeDeletedSecrets1764150000000, OutboxNotify1764230000000, ApiKeyNotify1764300000000, RegistrationRetry1764310000000,
  KubeStatus1764400000000, Autoscaling1764500000000, CertificateExpirations1764700000000, AgentVersions1764800000000,
  Identity1764900000000,
];

/**
 * A TypeORM data source on PostgreSQL. Never synchronizes: the schema comes from migrations only.
 * @param url `postgres://user@host:port/db` (env `DATABASE_URL`).
 */
export function createDataSource(url: string, opts: { poolSize?: number; applicationName?: string } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    poolSize: opts.poolSize ?? 10,
    applicationName: opts.applicationName,
  });
}

/** Key of the PostgreSQL advisory lock that serialises migration runs across processes. */
const MIGRATION_LOCK = 7_243_001;

/** Applies pending migrations. Safe to call from several processes at once: runs are serialised by an advisory lock. */
export async function migrate(ds: DataSource): Promise<void> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await ds.runMigrations({ transaction: 'all' });
  } finally {
    await qr.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await qr.release();
  }
}
