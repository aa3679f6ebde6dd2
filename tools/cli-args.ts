/** Argument handling shared by the project's small command-line tools. */

/** The value after `name` in `args`; throws naming the option when a required one is missing. */
export function cliOption(args: readonly string[], name: string, required: boolean): string | undefined {
    const i = args.indexOf(name);
    const value = i >= 0 ? args[i + 1] : undefined;
    if (required && (value === undefined || value.startsWith("--"))) throw new Error(`${name} is required`);
    return value;
}

/** Runs a tool's main function: usage on a bad argument, the error's message and exit code 1 on failure, exit 0 when done. */
export function runCli(usage: string, main: (args: string[]) => Promise<void>): void {
    main(process.argv.slice(2)).then(
        () => process.exit(process.exitCode ?? 0),
        (e: unknown) => {
            const message = e instanceof Error ? e.message : String(e);
            console.error(/is required$/.test(message) ? `${message}\nusage: npm run ${usage}` : message);
            process.exit(1);
        },
    );
}
