import { InitialSchema1763712000000 } from './1763712000000-initial-schema.js';

/** Every migration, oldest first. Add new ones at the end. */
export const migrations = [InitialSchema1763712000000];
