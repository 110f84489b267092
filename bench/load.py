"""Load with wrk: a Lua script that posts an operation's bodies in turn (with a fresh idempotency key where
the body has a place for one), counts responses carrying GraphQL errors, and prints its figures as JSON."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.workload import KEY_PLACEHOLDER

RESULT_MARK = "BENCH_RESULT "

_SCRIPT = r"""
local bodies = {
%(bodies)s
}
local headers = {
%(headers)s
}
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id * 7919
  errors = 0
end

function request()
  counter = counter + 1
  local parts = bodies[(counter %% #bodies) + 1]
  local body = parts[1]
  if parts[2] ~= nil then
    body = parts[1] .. "%(run)s-" .. id .. "-" .. counter .. parts[2]
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":[{', 1, true) or string.find(body, '"errors": [{', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local body_errors = 0
  for _, thread in ipairs(threads) do
    body_errors = body_errors + thread:get("errors")
  end
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"body_errors":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    body_errors, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _lua_string(value: str) -> str:
    level = 1
    while f"]{'=' * level}]" in value:
        level += 1
    return f"[{'=' * level}[{value}]{'=' * level}]"


def script(bodies: list[bytes], headers: dict[str, str], run_id: str) -> str:
    """The Lua script for wrk; a body holding the idempotency-key placeholder gets a unique key per request."""
    entries = []
    for body in bodies:
        text = body.decode()
        if KEY_PLACEHOLDER in text:
            before, after = text.split(KEY_PLACEHOLDER, 1)
            entries.append(f"  {{{_lua_string(before)}, {_lua_string(after)}}},")
        else:
            entries.append(f"  {{{_lua_string(text)}}},")
    header_lines = [f"  [ {_lua_string(k)} ] = {_lua_string(v)}," for k, v in headers.items()]
    return _SCRIPT % {
        "bodies": "\n".join(entries),
        "headers": "\n".join(header_lines),
        "run": run_id,
        "mark": RESULT_MARK,
    }


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian's package) and run again.")
    return path


@dataclass
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts, non-2xx statuses and bodies with GraphQL or payload errors
    error_detail: dict[str, int]
    rss_mb: dict[str, float] = field(default_factory=dict)


def run_wrk(
    url: str, bodies: list[bytes], headers: dict[str, str], *, concurrency: int, seconds: float, run_id: str
) -> LoadResult:
    threads = max(1, min(concurrency, 2))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script(bodies, headers, run_id))
        path = Path(handle.name)
    try:
        command = [
            require_wrk(),
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(path),
            url,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        path.unlink(missing_ok=True)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith(RESULT_MARK)), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix(RESULT_MARK))
    duration = raw["duration_us"] / 1e6
    detail = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout", "body_errors")}
    return LoadResult(
        requests=raw["requests"],
        seconds=round(duration, 2),
        requests_per_second=round(raw["requests"] / duration, 1) if duration else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        # A non-2xx response is counted by wrk and by the script's body check alike: count it once.
        errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"] + max(raw["status"], raw["body_errors"]),
        error_detail=detail,
    )


# --- the server's memory ------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def rss_mb(pid: int) -> float:
    """The resident memory of a process and its descendants (uvicorn's workers), in MiB."""
    total_kb = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


class RssSampler:
    """Samples a process tree's RSS every `interval` seconds while a load runs."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(rss_mb(self.pid))

    def __enter__(self) -> "RssSampler":
        self.samples.append(rss_mb(self.pid))
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(rss_mb(self.pid))

    def summary(self) -> dict[str, float]:
        return {"start": self.samples[0], "end": self.samples[-1], "max": max(self.samples)}


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its descendants (user and system), in seconds."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, timeout: float = 90.0, busy_share: float = 0.05) -> bool:
    """Wait until the server has finished what the last load left it (requests wrk gave up on keep
    running): its CPU use over a second below `busy_share` of a core. False if it never quietened."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - before < busy_share:
            return True
        before = now
    return False


def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")
