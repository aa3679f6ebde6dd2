/**
 * How every bench times an engine operation against a running client: the client runs for a
 * second before and after, so that the gaps it sees are the operation's, not its own start or end.
 */

/** Settling time of the client before and after the operation. */
export const SETTLE_MS = 1000;

/** Runs `operation` while `client` works; stops the client and returns its report and the operation's wall time. */
export async function measureWithClient<R>(client: { stop(): Promise<R> }, operation: () => Promise<void>): Promise<{ report: R; totalS: number }> {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const started = performance.now();
    await operation();
    const totalS = Number(((performance.now() - started) / 1000).toFixed(1));
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return { report: await client.stop(), totalS };
}
