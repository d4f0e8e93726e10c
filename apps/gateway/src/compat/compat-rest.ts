import type { INestApplication } from '@nestjs/common';
import type express from 'express';
import type { GatewayConfig } from '../config/gateway.config.js';
import type { CompatProfile } from './profile-names.js';
import { mountPoint } from './profiles.js';
import { seed000Rest } from './seed000/seed000.rest.js';
import { seed001Rest } from './seed001/seed001.rest.js';
import { seed004Rest } from './seed004/seed004.rest.js';

/** The seeds' REST routes (Django-style paths, trailing slash included), where a seed has any. */
const COMPAT_REST: Partial<Record<CompatProfile, (app: INestApplication) => express.Router>> = {
  '000': seed000Rest,
  '001': seed001Rest,
  '004': seed004Rest,
};

/**
 * Mounts each enabled seed's REST routes at `/compat/<seed>`, and at the bare paths for COMPAT_BARE_PATHS. Plain
 * Express routers ahead of Nest's: their paths and bodies are the seeds', outside Parley's `/api` (and its Swagger
 * document); docs/compat.md lists them.
 */
export function mountCompatRest(app: INestApplication, config: GatewayConfig): void {
  for (const profile of config.compatProfiles) {
    const router = COMPAT_REST[profile]?.(app);
    if (!router) continue;
    app.use(mountPoint(profile), router);
    if (config.compatBarePaths === profile) app.use(router);
  }
}
