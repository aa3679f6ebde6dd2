/**
 * Runs one command on one host over SSH, with the host key pinned, an optional jump host, the
 * data for stdin, and a time limit. Used where the engine does not run the command: the
 * pre-flight checks (`npm run precheck`) and the tests that drive scripts directly.
 *
 * @module
 */
import { Client, ClientChannel, ConnectConfig } from "ssh2";

/** Where and how to reach a host. `privateKey` is a secret. */
export interface SshTarget {
    /** Address or DNS name. */
    readonly host: string;
    /** SSH port. */
    readonly port: number;
    /** Login user. */
    readonly user: string;
    /** Private key in OpenSSH or PEM format. */
    readonly privateKey: string;
    /** The host's public key as `ssh-keygen`/`ssh-keyscan` print it: `ssh-ed25519 AAAA... [comment]`. */
    readonly hostKey: string;
    /** A jump host (bastion) to reach this host through. */
    readonly proxy?: SshTarget;
}

/** How a command ended. */
export interface SshResult {
    /** Exit code; a command killed by a signal reports 128 + 1. */
    readonly code: number;
    /** The last {@link OUTPUT_LIMIT} bytes of stdout. */
    readonly stdout: string;
    /** The last {@link OUTPUT_LIMIT} bytes of stderr. */
    readonly stderr: string;
}

/** Options of {@link runOverSsh}. */
export interface SshRunOptions {
    /** Data written to the command's stdin, then closed. */
    readonly stdin?: string;
    /** The command is stopped and the run fails after this many seconds. */
    readonly timeoutSeconds: number;
    /** Connection attempts before giving up on a host that does not answer. */
    readonly dialAttempts: number;
    /** Seconds between connection attempts. */
    readonly dialIntervalSeconds: number;
}

/** How much of stdout and stderr is kept: enough for a diagnosis, bounded for the state file. */
export const OUTPUT_LIMIT = 16 * 1024;

/** Runs `command` on `target`; resolves with its exit code and output, rejects when SSH fails. */
export async function runOverSsh(target: SshTarget, command: string, opts: SshRunOptions): Promise<SshResult> {
    const client = await dialWithRetries(target, opts);
    try {
        return await execute(client, command, opts, describe(target));
    } finally {
        client.end();
    }
}

function describe(target: SshTarget): string {
    return `${target.user}@${target.host}:${target.port}`;
}

function isUnreachable(err: unknown): boolean {
    const code = (err as { code?: string }).code ?? "";
    const message = err instanceof Error ? err.message : String(err);
    return (
        ["ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE"].includes(code) ||
        /Timed out while waiting for handshake|Connection lost before handshake|channel open failure/i.test(message)
    );
}

async function dialWithRetries(target: SshTarget, opts: SshRunOptions): Promise<Client> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await dial(target);
        } catch (err) {
            if (!isUnreachable(err) || attempt >= opts.dialAttempts) {
                const message = err instanceof Error ? err.message : String(err);
                throw new Error(`cannot reach ${describe(target)} (attempt ${attempt} of ${opts.dialAttempts}): ${message}`);
            }
            await new Promise((resolve) => setTimeout(resolve, opts.dialIntervalSeconds * 1000));
        }
    }
}

function pinnedKey(target: SshTarget): Buffer {
    const fields = target.hostKey.trim().split(/\s+/);
    if (fields.length < 2) throw new Error(`hostKey of ${describe(target)} is not '<type> <base64> [comment]'`);
    return Buffer.from(fields[1], "base64");
}

async function dial(target: SshTarget): Promise<Client> {
    const expected = pinnedKey(target);
    let sock: ConnectConfig["sock"];
    let jump: Client | undefined;
    if (target.proxy) {
        jump = await dial(target.proxy);
        sock = await new Promise<ClientChannel>((resolve, reject) =>
            jump!.forwardOut("127.0.0.1", 0, target.host, target.port, (err, stream) => (err ? reject(err) : resolve(stream))),
        );
    }
    return new Promise<Client>((resolve, reject) => {
        const client = new Client();
        let keyMismatch = false;
        client
            .on("ready", () => {
                if (jump) client.on("close", () => jump!.end());
                resolve(client);
            })
            .on("error", (err) => {
                jump?.end();
                reject(keyMismatch ? new Error(`the host key of ${describe(target)} does not match the pinned hostKey`) : err);
            })
            .connect({
                host: target.host,
                port: target.port,
                username: target.user,
                privateKey: target.privateKey,
                sock,
                readyTimeout: 10_000,
                keepaliveInterval: 5_000,
                keepaliveCountMax: 3,
                hostVerifier: (key: Buffer) => {
                    keyMismatch = !key.equals(expected);
                    return !keyMismatch;
                },
            });
    });
}

function keepTail(chunks: Buffer[], chunk: Buffer): void {
    chunks.push(chunk);
    let size = chunks.reduce((n, c) => n + c.length, 0);
    while (size > OUTPUT_LIMIT && chunks.length > 1) size -= chunks.shift()!.length;
}

function tail(chunks: Buffer[]): string {
    const all = Buffer.concat(chunks);
    return all.subarray(Math.max(0, all.length - OUTPUT_LIMIT)).toString("utf8");
}

function execute(client: Client, command: string, opts: SshRunOptions, where: string): Promise<SshResult> {
    return new Promise<SshResult>((resolve, reject) => {
        client.exec(command, (err, channel) => {
            if (err) return reject(new Error(`cannot start a command on ${where}: ${err.message}`));
            const stdout: Buffer[] = [];
            const stderr: Buffer[] = [];
            let code: number | undefined;
            const timer = setTimeout(() => {
                // The script traps TERM and journals it; closing the channel alone could leave it running.
                channel.signal("TERM");
                channel.close();
                reject(new Error(`the command on ${where} did not finish within ${opts.timeoutSeconds} s and was stopped`));
            }, opts.timeoutSeconds * 1000);
            channel
                .on("data", (d: Buffer) => keepTail(stdout, d))
                .on("exit", (exitCode: number | null, signal?: string) => {
                    code = exitCode ?? (signal ? 129 : 255);
                })
                .on("close", () => {
                    clearTimeout(timer);
                    if (code === undefined) {
                        reject(new Error(`the connection to ${where} was lost before the command finished`));
                    } else {
                        resolve({ code, stdout: tail(stdout), stderr: tail(stderr) });
                    }
                });
            channel.stderr.on("data", (d: Buffer) => keepTail(stderr, d));
            channel.end(opts.stdin ?? "");
        });
    });
}
