"""Run the loopback fake judge in its own process (so its CPU is not counted as ours).

    python benchmarks/serve_fake.py --port 8765 --latency 0.2 --jitter 0.02 --fault-rate 0
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--max-seconds", type=float, default=3600, help="stop by itself after this long")
    args = ap.parse_args()
    from medjudge.models.fakellm import FakeLLM

    fake = FakeLLM(latency=args.latency, jitter=args.jitter, fault_rate=args.fault_rate, port=args.port,
                   faults=("429", "500"))
    fake.keep_requests = False
    fake.start()
    print(f"ready {fake.base_url}", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(now=True))
    deadline = time.time() + args.max_seconds
    try:
        while not stop["now"] and time.time() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    fake.stop()
    print(f"served {fake.count} first {fake.first_at} last {fake.last_at}", flush=True)


if __name__ == "__main__":
    main()
