export * from "./change-plan";
export * from "./report";
