/**
 * A site program of another repository: one Redis pair, hosts and secrets from its own config.
 * `pulumi config set --secret sshPrivateKey < key; pulumi config set --secret redisPassword ...`
 */
import * as pulumi from "@pulumi/pulumi";
import { RedisHa } from "pulumi-middleware";

const config = new pulumi.Config();
const key = config.requireSecret("sshPrivateKey");
const pair = new RedisHa("redis", {
    master: { name: "redis-a", address: "10.1.2.11", privateKey: key, hostKey: config.require("redisAHostKey") },
    slave: { name: "redis-b", address: "10.1.2.12", privateKey: key, hostKey: config.require("redisBHostKey") },
    vip: { address: "10.1.2.100", prefix: 24, interface: "eth0", virtualRouterId: 51 },
    password: config.requireSecret("redisPassword"),
    version: "7.0.15",
});

export const endpoint = pair.endpoint;
