"""The load generator: wrk with a pacing and counting Lua prelude."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from bench.common.procs import cpu_seconds

# --- wrk -----------------------------------------------------------------------------

WRK_INSTALL_HINT = (
    "bench: wrk is not installed; install it with\n"
    "    apt-get install -y --no-install-recommends wrk\n"
    "(it is the load generator of every HTTP benchmark here)"
)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        sys.exit(WRK_INSTALL_HINT)
    return path


# The part of every wrk script that is not about the request itself:
# - pacing (``rate`` argument, total requests/s over all threads): ``delay()``
#   hands each connection the next slot of a per-thread schedule, so the sent
#   rate stays fixed whatever the latency, as long as a connection is free;
#   without ``rate`` wrk runs closed-loop (each connection sends as soon as the
#   previous answer arrived), which measures peak throughput;
# - status counting per thread, merged in ``done()``, printed as one JSON line.
# LuaJIT's ffi gives a monotonic clock; plain Lua only has whole seconds.
WRK_PRELUDE = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local _ts = ffi.new("bench_timespec[1]")
local function now_ms()
  ffi.C.clock_gettime(1, _ts)  -- CLOCK_MONOTONIC
  return tonumber(_ts[0].tv_sec) * 1000 + tonumber(_ts[0].tv_nsec) / 1e6
end

local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

bench = {}
statuses = {}
local interval_ms = nil
local next_slot = nil

function init(args)
  for _, arg in ipairs(args) do
    local k, v = arg:match("^([%w_]+)=(.*)$")
    if k then bench[k] = v end
  end
  math.randomseed(tonumber(bench.seed or "1") * 1000 + thread_id)
  if bench.rate and tonumber(bench.rate) > 0 then
    interval_ms = 1000.0 * tonumber(bench.threads) / tonumber(bench.rate)
  end
  if bench_init then bench_init() end
end

if true then
  function delay()
    if not interval_ms then return 0 end
    local now = now_ms()
    if not next_slot then next_slot = now end
    local slot = next_slot
    next_slot = next_slot + interval_ms
    local wait = slot - now
    if wait < 0 then return 0 end
    return math.floor(wait)
  end
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "latency_us": {"min": %d, "mean": %.1f, "max": %d, ' ..
    '"stdev": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d}, ' ..
    '"statuses": {%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), table.concat(parts, ", ")))
end
"""


@dataclass
class WrkResult:
    label: str
    url: str
    connections: int
    threads: int
    duration_s: float
    target_rate: float | None
    requests: int
    rps: float
    latency_ms: dict[str, float]
    statuses: dict[str, int]
    errors: dict[str, int]
    command: str
    # Milliseconds of CPU per answered request, by process role (cpu_seconds).
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)

    @property
    def ok_requests(self) -> int:
        return sum(v for k, v in self.statuses.items() if k.startswith("2"))

    @property
    def bad_requests(self) -> int:
        return self.requests - self.ok_requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "url": self.url,
            "connections": self.connections,
            "threads": self.threads,
            "duration_s": round(self.duration_s, 2),
            "target_rate": self.target_rate,
            "requests": self.requests,
            "rps": round(self.rps, 1),
            "latency_ms": self.latency_ms,
            "statuses": self.statuses,
            "socket_errors": self.errors,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "command": self.command,
        }


def run_wrk(
    url: str,
    *,
    label: str,
    lua_request: str,
    lua_args: dict[str, str] | None = None,
    duration: int = 20,
    connections: int = 8,
    threads: int = 2,
    rate: float | None = None,
    timeout: int = 10,
) -> WrkResult:
    """Run wrk against ``url`` with ``lua_request`` (defines ``request()``, may
    define ``bench_init()``; reads its arguments from the ``bench`` table).

    ``rate`` (requests/s over all threads) paces it; otherwise closed-loop.
    """
    wrk = require_wrk()
    args = {
        "threads": str(threads),
        "seed": str(secrets.randbelow(10**6)),
        **(lua_args or {}),
    }
    if rate:
        args["rate"] = f"{rate:.3f}"
    with tempfile.NamedTemporaryFile(
        "w", prefix="bench-", suffix=".lua", delete=False
    ) as script:
        script.write(WRK_PRELUDE + "\n" + lua_request)
    try:
        cmd = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            f"--timeout={timeout}s",
            "-s",
            script.name,
            url,
            "--",
            *(f"{k}={v}" for k, v in args.items()),
        ]
        cpu_before = cpu_seconds()
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=duration + 60
        )
        cpu_after = cpu_seconds()
    finally:
        os.unlink(script.name)
    line = next(
        (ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None
    )
    if out.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    shown = " ".join(
        c if not c.endswith(".lua") else "<script>" for c in cmd[: -len(args)]
    )
    secret_free = {k: v for k, v in args.items() if k not in ("key", "merchants")}
    return WrkResult(
        label=label,
        url=url,
        connections=connections,
        threads=threads,
        duration_s=seconds,
        target_rate=round(rate, 1) if rate else None,
        requests=data["requests"],
        rps=data["requests"] / seconds if seconds else 0.0,
        latency_ms={k: round(v / 1000, 2) for k, v in data["latency_us"].items()},
        statuses=data["statuses"],
        errors=data["errors"],
        command=shown + " " + " ".join(f"{k}={v}" for k, v in secret_free.items()),
        cpu_ms_per_request={
            role: round(1000 * (cpu_after[role] - cpu_before.get(role, 0.0)) / done, 3)
            for role in cpu_after
            if (done := data["requests"])
        },
    )
