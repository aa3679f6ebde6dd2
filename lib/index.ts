/**
 * pulumi-middleware: Pulumi components that migrate, cut over, upgrade and roll back
 * on-premises middleware over SSH. Pulumi's state is the migration journal; `destroy` is undo.
 *
 * The core (`Step`, hosts, reversible actions, plans and their order, validators) is public so
 * that other repositories can encode their own procedures; so is the approval report
 * (`changeReport`, the `changePlan` output a site program exports).
 *
 * @packageDocumentation
 */
export * from "./core/actions";
export * from "./core/host";
export * from "./core/materialize";
export * from "./core/order";
export * from "./core/plan";
export { readSecretFromStdin, renderCheckScript, renderScript, remoteCommand, CheckScriptOptions, DEFAULT_STATE_DIR, Direction, ScriptOptions } from "./core/script";
export { raw, sh, shellQuote, RawShell, ShellValue, ShellWord } from "./core/shell";
export * from "./core/step";
export * from "./core/validate";
export * from "./approval";
export * from "./redis";
export * from "./postgres";
export * from "./kafka";
export * from "./fastdfs";
export * from "./core/local-step";
export * from "./core/materialize-local";
export * from "./threescale";
