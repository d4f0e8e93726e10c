import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'parley:public';

/**
 * The route needs no access token: the gateway's guard fails closed for everything else. Here rather than in
 * the gateway because operational routes (metrics, health) live in this library and are open to probes.
 */
export const Public = () => SetMetadata(IS_PUBLIC, true);
