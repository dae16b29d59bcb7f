#!/usr/bin/env python3
"""Drives a running `whet serve` with the official `openai` Python package and prints one JSON
object with what came back (the Swift test ServerTests/RealServerTests checks it).

    python3 scripts/openai_client_check.py --base-url http://127.0.0.1:PORT/v1 --api-key KEY \
        --model gemma-3-270m-q4_k_m --embedding-model all-MiniLM-L6-v2
"""
import argparse
import json
import sys

try:
    import openai
except ImportError:
    print(json.dumps({"error": "the openai package is not installed; run `make setup` (scripts/setup-deps.sh)"}))
    sys.exit(3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--embedding-model", required=True)
    args = ap.parse_args()

    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0, timeout=120)
    out = {"openai_version": openai.__version__}

    out["models"] = sorted(m.id for m in client.models.list().data)

    completion = client.completions.create(model=args.model, prompt="The capital of France is", max_tokens=8,
                                           temperature=0)
    out["completion"] = {"text": completion.choices[0].text, "finish_reason": completion.choices[0].finish_reason,
                         "completion_tokens": completion.usage.completion_tokens,
                         "prompt_tokens": completion.usage.prompt_tokens}

    messages = [{"role": "system", "content": "Answer in one short sentence."},
                {"role": "user", "content": "What is the capital of France?"}]
    chat = client.chat.completions.create(model=args.model, messages=messages, max_tokens=24, temperature=0)
    out["chat"] = {"content": chat.choices[0].message.content, "role": chat.choices[0].message.role,
                   "finish_reason": chat.choices[0].finish_reason}

    pieces, finish, roles, chunks = [], None, [], 0
    stream = client.chat.completions.create(model=args.model, messages=messages, max_tokens=24, temperature=0,
                                            stream=True)
    for chunk in stream:
        chunks += 1
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.role:
            roles.append(delta.role)
        if delta.content:
            pieces.append(delta.content)
        if chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    out["chat_stream"] = {"content": "".join(pieces), "pieces": len(pieces), "chunks": chunks, "roles": roles,
                          "finish_reason": finish}

    emb = client.embeddings.create(model=args.embedding_model,
                                   input=["A cat sits on the mat.", "A kitten rests on a rug.", "Stock prices fell."])
    vectors = [d.embedding for d in emb.data]

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / ((sum(x * x for x in a) ** 0.5) * (sum(y * y for y in b) ** 0.5))

    out["embeddings"] = {"count": len(vectors), "dimensions": len(vectors[0]),
                         "similar": cos(vectors[0], vectors[1]), "unrelated": cos(vectors[0], vectors[2])}

    try:
        client.completions.create(model="no-such-model", prompt="x", max_tokens=1)
        out["unknown_model"] = None
    except openai.NotFoundError as e:
        out["unknown_model"] = {"status": e.status_code, "code": (e.body or {}).get("code")}

    bad = openai.OpenAI(base_url=args.base_url, api_key="wrong-" + args.api_key, max_retries=0)
    try:
        bad.models.list()
        out["wrong_key"] = None
    except openai.AuthenticationError as e:
        out["wrong_key"] = {"status": e.status_code, "code": (e.body or {}).get("code")}

    print(json.dumps(out))


if __name__ == "__main__":
    main()
