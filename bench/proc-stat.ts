/**
 * CPU time of one process from Linux's `/proc/<pid>/stat` (proc(5)), for the benchmark's CPU per request:
 * `utime` + `stime` (fields 14 and 15, in clock ticks), all threads of the process, its children not.
 * Read by hand: no maintained package reads these two fields (pidusage and the like shell out or sample
 * percentages), and the format is two lines of proc(5).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ProcCpu {
  /** Ticks in user mode (field 14). */
  utime: number;
  /** Ticks in kernel mode (field 15). */
  stime: number;
}

/**
 * Parses one `/proc/<pid>/stat` line. The second field is the command name in parentheses, which may hold
 * spaces and parentheses itself, so the fields are counted from the last `)`: after it, field 3 (state) is
 * the first, and utime and stime are the 12th and 13th.
 */
export function parseProcStat(line: string): ProcCpu {
  const end = line.lastIndexOf(")");
  if (end < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(line.slice(0, 80))}`);
  const fields = line.slice(end + 1).trim().split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`no utime/stime in /proc/<pid>/stat line: ${JSON.stringify(line.slice(0, 80))}`);
  return { utime, stime };
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (the kernel's USER_HZ, 100 on Linux), read once. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    if (!Number.isInteger(value) || value <= 0) throw new Error(`getconf CLK_TCK answered ${value}`);
    ticksPerSecond = value;
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) process `pid` has used so far. */
export function cpuSecondsOf(pid: number): number {
  const { utime, stime } = parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  return (utime + stime) / clockTicksPerSecond();
}
