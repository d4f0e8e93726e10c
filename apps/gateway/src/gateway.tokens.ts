/** This process's instance id (INSTANCE_ID, or hostname-pid-random). */
export const INSTANCE_ID = Symbol('INSTANCE_ID');
