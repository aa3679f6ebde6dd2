import { Site } from "./site";
export const legacyRedis: Site = { name: "legacy-redis", minHosts: 2, layOut: async () => ({}), inventory: () => ({}) };
