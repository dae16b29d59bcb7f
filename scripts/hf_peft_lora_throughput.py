#!/usr/bin/env python3
"""Trained tokens/s of HF transformers + PEFT on PyTorch CPU, for the comparison of issue #5.

Same settings as `whet train lora` on Gemma 3 270M: LoRA r=8, alpha 16, dropout 0 on q,k,v,o
projections, AdamW, batch 4 x seq 128, fp32 (the GGUF is dequantized by transformers when it loads
it with gguf_file=, so this is the plain fp32 LoRA path HF users run on a CPU).

    python3 -m venv venv && venv/bin/pip install torch transformers peft gguf accelerate
    venv/bin/python scripts/hf_peft_lora_throughput.py --model models/gemma-3-270m-q4_k_m.gguf \
        --data data/samples/sft.jsonl --threads 2 --steps 12

Prints one JSON line: tokens_per_second is the median over the steps after --warmup;
tokens_per_cpu_second divides the same tokens by the process CPU time (all threads) of those steps.
"""
import argparse, json, os, statistics, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from peft import LoraConfig, get_peft_model

    folder, name = os.path.split(os.path.abspath(args.model))
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    model.config.use_cache = False
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, bias="none",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    model.train()

    # Packed rows of the shipped SFT sample (prompt + completion text), as `--layout pack` does.
    stream = []
    with open(args.data) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            if "messages" in record:
                text = "\n".join(m["content"] for m in record["messages"])
            else:
                text = record.get("prompt", record.get("instruction", "")) + record.get("completion", record.get("output", record.get("text", "")))
            stream += tokenizer(text, add_special_tokens=True)["input_ids"]
    need = args.batch * args.seq
    while len(stream) < need * (args.steps + 1):
        stream += stream
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.0)

    times, cpu_times, losses = [], [], []
    for step in range(args.steps):
        rows = torch.tensor(stream[step * need:(step + 1) * need]).view(args.batch, args.seq)
        start, cpu_start = time.perf_counter(), time.process_time()
        out = model(input_ids=rows, labels=rows)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        losses.append(out.loss.item())
        if step >= args.warmup:
            times.append(elapsed)
            cpu_times.append(cpu)
        print(f"step {step + 1}/{args.steps} loss {losses[-1]:.4f} {need / elapsed:.1f} tok/s", flush=True)
    per_step = [need / t for t in times]
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "batch": args.batch, "seq": args.seq,
                      "steps_timed": len(times), "tokens_per_second": statistics.median(per_step),
                      "min": min(per_step), "max": max(per_step),
                      # CPU time of all threads: comparable between runs made under different machine load.
                      "tokens_per_cpu_second": need * len(cpu_times) / sum(cpu_times), "losses": losses}))

if __name__ == "__main__":
    main()
