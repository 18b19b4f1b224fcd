// A private PulseAudio daemon with a null sink: real-time paced audio for ALSA tests on a machine with no sound card.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface PulseLab {
  /** Environment for arecord/aplay `-D pulse`: the private server, its null sink and that sink's monitor. */
  env: NodeJS.ProcessEnv;
  sink: string;
  monitor: string;
  /** How the daemon is: running, or how it ended, with the end of its log (for a failing test to show). */
  status(): string;
  stop(): Promise<void>;
}

/** Starts `pulseaudio` with a null sink named `fake`; fails with the apt packages to install when it is missing. */
export async function startPulse(rate = 16000): Promise<PulseLab> {
  const which = await run("sh", ["-c", "for t in pulseaudio pactl arecord; do command -v $t || exit 1; done"]).then(() => true, () => false);
  if (!which)
    throw new Error("PulseAudio tests need pulseaudio, pactl and arecord: apt-get install pulseaudio pulseaudio-utils alsa-utils libasound2-plugins (scripts/install.sh does)");
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "pulse-lab-"));
  const runtime = path.join(dir, "run");
  const home = path.join(dir, "home");
  await fs.mkdir(runtime, { mode: 0o700 });
  await fs.mkdir(home);
  await fs.writeFile(path.join(home, ".asoundrc"), "pcm.pulse { type pulse }\nctl.pulse { type pulse }\n");
  const socket = path.join(runtime, "native");
  // autospawn off and no D-Bus/X11 lookups: a client then connects in milliseconds instead of seconds
  const clientConf = path.join(dir, "client.conf");
  await fs.writeFile(clientConf, "autospawn = no\nenable-shm = yes\n");
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_RUNTIME_DIR: runtime, PULSE_SERVER: `unix:${socket}`, PULSE_CLIENTCONFIG: clientConf, DBUS_SESSION_BUS_ADDRESS: "disabled:", DISPLAY: "" };
  const daemon: ChildProcess = spawn(
    "pulseaudio",
    [
      // no real-time scheduling: as root PulseAudio would take it, and the kernel kills it (RLIMIT_RTTIME) on a busy machine
      "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "--realtime=no", "--high-priority=no", "--log-target=stderr", "--log-level=error",
      `--load=module-null-sink sink_name=fake rate=${rate} channels=1`,
      `--load=module-native-protocol-unix socket=${socket} auth-anonymous=1`,
    ],
    { env, stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  let log = "";
  daemon.stderr?.on("data", (d) => (log = (log + d).slice(-4000)));
  const stop = async (): Promise<void> => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const gone = new Promise((r) => daemon.once("exit", r));
      daemon.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill("SIGKILL");
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (daemon.exitCode !== null) break;
    const ok = await run("pactl", ["info"], { env, timeout: 2000 }).then(() => true, () => false);
    const status = (): string => (daemon.exitCode === null && daemon.signalCode === null ? "pulseaudio running" : `pulseaudio ended (${daemon.exitCode ?? daemon.signalCode}): ${log.trim().slice(-1500)}`);
    if (ok) return { env: { ...env, PULSE_SINK: "fake", PULSE_SOURCE: "fake.monitor" }, sink: "fake", monitor: "fake.monitor", status, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`pulseaudio did not come up: ${log.trim()}`);
}
