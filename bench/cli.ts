/**
 * `npm run bench -- TOPOLOGY [options]`: redis (`--keys N`), postgres (`--orders N`), kafka or
 * fastdfs (`--files N`). The last line printed is the benchmark's JSON.
 */
const USAGE = "usage: npm run bench -- redis [--keys N] | postgres [--orders N] | kafka | fastdfs [--files N]";

async function dispatch(): Promise<void> {
    const [topology, ...rest] = process.argv.slice(2);
    if (topology === "redis") return (await import("./redis")).main(rest);
    if (topology === "postgres") return (await import("./postgres")).main(rest);
    if (topology === "kafka") return (await import("./kafka")).main(rest);
    if (topology === "fastdfs") return (await import("./fastdfs")).main(rest);
    throw new Error(`${USAGE} (got ${JSON.stringify(topology)})`);
}

// Exits when the benchmark is done: a client of a host that crashed or moved its VIP may hold a
// socket that never closes.
dispatch().then(
    () => process.exit(0),
    (err: Error) => {
        console.error(`bench: ${err.message}`);
        process.exit(1);
    },
);
