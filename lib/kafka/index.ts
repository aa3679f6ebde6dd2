export * from "./args";
export * from "./component";
export { KAFKA_STEPS, planKafkaZk } from "./plan";
export { pinnedBrokerSettings } from "./stage";
