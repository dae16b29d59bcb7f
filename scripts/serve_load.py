#!/usr/bin/env python3
"""Load test for `whet serve` on loopback (standard library only).

Runs each distinct request alone first (one after another), then CONCURRENCY streaming requests at
once (the distinct requests repeated), all at temperature 0, and checks that every concurrent
stream equals the same request run alone: no error, no lost, extra or mixed-up text. Prints one
JSON object: counts, mismatches, requests/s and latency percentiles of the concurrent phase.

    python3 scripts/serve_load.py --base-url http://127.0.0.1:8080/v1 [--api-key KEY] \
        [--model gemma-3-270m-q4_k_m] [--concurrency 32] [--distinct 8] [--max-tokens 24]

Only loopback addresses are accepted: this is a local bench, never a tool against other hosts.
The Swift test (ServerTests) uses it for correctness only; the timings are for people.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse

TOPICS = ["the sea", "a mountain", "autumn leaves", "a lighthouse", "the desert", "a city at night",
          "an old library", "a thunderstorm", "a garden", "the moon", "a train journey", "winter",
          "a market", "a river", "a violin", "a bakery"]


def stream_chat(base, key, model, prompt, max_tokens, timeout=600):
    """One streaming chat completion; returns (text, finish_reason, seconds, first_piece_seconds)."""
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
    body = json.dumps({"model": model, "stream": True, "temperature": 0, "max_tokens": max_tokens,
                       "messages": [{"role": "user", "content": prompt}]})
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    start = time.monotonic()
    first = None
    conn.request("POST", url.path.rstrip("/") + "/chat/completions", body=body, headers=headers)
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {resp.read()[:300]!r}")
    text, finish, done = [], None, False
    for raw in resp:
        line = raw.decode("utf-8").strip()
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            done = True
            break
        event = json.loads(data)
        if "error" in event:
            raise RuntimeError("stream error: " + json.dumps(event["error"]))
        choice = event["choices"][0]
        piece = choice.get("delta", {}).get("content")
        if piece:
            if first is None:
                first = time.monotonic() - start
            text.append(piece)
        if choice.get("finish_reason"):
            finish = choice["finish_reason"]
    conn.close()
    if not done:
        raise RuntimeError("stream ended without [DONE]")
    return "".join(text), finish, time.monotonic() - start, first


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return None
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--api-key", default="")
    ap.add_argument("--model", default="gemma-3-270m-q4_k_m")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--distinct", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=24)
    args = ap.parse_args()

    host = urllib.parse.urlparse(args.base_url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit("serve_load.py: only loopback addresses (127.0.0.0/8, localhost, ::1) are allowed")
    if not (1 <= args.concurrency <= 256 and 1 <= args.distinct <= len(TOPICS)):
        sys.exit(f"serve_load.py: --concurrency 1..256, --distinct 1..{len(TOPICS)}")

    prompts = [f"Write two sentences about {TOPICS[i]}." for i in range(args.distinct)]
    alone = {}
    for p in prompts:
        text, finish, _, _ = stream_chat(args.base_url, args.api_key, args.model, p, args.max_tokens)
        alone[p] = (text, finish)

    results = [None] * args.concurrency
    barrier = threading.Barrier(args.concurrency)

    def worker(i):
        prompt = prompts[i % len(prompts)]
        try:
            barrier.wait(timeout=60)
            results[i] = ("ok", prompt) + stream_chat(args.base_url, args.api_key, args.model, prompt, args.max_tokens)
        except Exception as e:  # every failure is counted and reported, never hidden
            results[i] = ("error", prompt, str(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.concurrency)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start

    errors = [r[2] for r in results if r[0] == "error"]
    ok = [r for r in results if r[0] == "ok"]
    mismatches = [{"prompt": r[1], "alone": alone[r[1]][0], "concurrent": r[2]}
                  for r in ok if (r[2], r[3]) != alone[r[1]]]
    latencies = [r[4] for r in ok]
    firsts = [r[5] for r in ok if r[5] is not None]
    report = {
        "requests": args.concurrency, "distinct_prompts": len(prompts), "max_tokens": args.max_tokens,
        "completed": len(ok), "errors": len(errors), "error_messages": errors[:5],
        "mismatches": len(mismatches), "mismatch_examples": mismatches[:3],
        "empty_streams": sum(1 for r in ok if not r[2]),
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(len(ok) / wall, 3) if wall > 0 else None,
        "latency_p50_seconds": percentile(latencies, 50), "latency_p99_seconds": percentile(latencies, 99),
        "first_token_p50_seconds": percentile(firsts, 50),
    }
    print(json.dumps(report))
    sys.exit(0 if not errors and not mismatches else 1)


if __name__ == "__main__":
    main()
