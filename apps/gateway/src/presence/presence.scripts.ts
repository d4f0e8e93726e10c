// Presence state in Redis. A user's keys are changed only by these scripts, so that every transition is atomic:
//   presence:user:{<id>}        hash socketId → instanceId: the user's connected sockets, anywhere
//   presence:version:{<id>}     the version of the user's last transition
// (one hash tag, so that on a Redis Cluster both are in the user's slot), and beside them:
//   presence:sockets:<instance> set of "<userId>|<socketId>": what to clean up if that instance dies; added to
//                               before the user's hash and removed from after it, so it never misses a socket
//   presence:instances          zset instanceId → last heartbeat (Redis clock, ms)
// A transition (0 → 1 sockets: online, 1 → 0: offline) returns a version that only grows: Redis's clock in
// microseconds, or last + 1. Gateways deliver a user's presence events only in increasing version order, so
// events that cross on the way (a reconnect racing a disconnect) cannot leave a wrong final state.

const NEXT_VERSION = `
local function next_version(key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('GET', key) or '0')
  local v = math.max(now, last + 1)
  redis.call('SET', key, string.format('%.0f', v), 'PX', 86400000)
  return v
end
`;

/** KEYS: user hash, version key. ARGV: socketId, instanceId. Returns the version, or 0. */
export const PRESENCE_ADD = `${NEXT_VERSION}
local added = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if added == 1 and redis.call('HLEN', KEYS[1]) == 1 then
  return next_version(KEYS[2])
end
return 0
`;

/** KEYS: user hash, version key. ARGV: socketId. Returns the version, or 0. */
export const PRESENCE_REMOVE = `${NEXT_VERSION}
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if removed == 1 and redis.call('HLEN', KEYS[1]) == 0 then
  return next_version(KEYS[2])
end
return 0
`;

/** KEYS: instances zset. ARGV: instanceId. Renews this instance's heartbeat on Redis's clock. */
export const PRESENCE_HEARTBEAT = `
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
return 1
`;

/** KEYS: instances zset. ARGV: ttl ms. Returns the instances whose last heartbeat is older than ttl. */
export const PRESENCE_DEAD_INSTANCES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
`;
