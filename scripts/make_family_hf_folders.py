#!/usr/bin/env python3
"""Tiny random-weight Hugging Face folders of each decoder family, with transformers' own outputs.

Writes into OUT (default Tests/EngineTests/Fixtures/hf-families):

  <name>/config.json, model.safetensors (or shards + model.safetensors.index.json),
         tokenizer.json, tokenizer_config.json      written by transformers' save_pretrained
  reference.json   per folder: the prompt ids, transformers' last-token logits, and a greedy
                   continuation with each step's top-2 logits

Folders (families as transformers implements them; weights random, seeded):

  llama        LlamaForCausalLM, GQA 4/2, llama3 rope scaling, tied embeddings, F32
  llama-bf16   the same weights stored as BF16 (the reference runs fp32 math on the BF16 values)
  qwen2        Qwen2ForCausalLM, Q/K/V biases, separate lm_head, F32
  qwen2-f16    the same weights stored as F16 (reference: fp32 math on the F16 values)
  qwen3        Qwen3ForCausalLM, head_dim 32 with 4 heads (q width 128 != d_model 64), q/k norms,
               sharded (model.safetensors.index.json + shards)
  phi3         Phi3ForCausalLM, fused qkv_proj / gate_up_proj, sliding_window 2047, tied embeddings
  gemma2       Gemma2ForCausalLM, soft-capping 50 / 30, sliding window 8 on layer 0
  gemma3       Gemma3ForCausalLM (gemma3_text), q/k norms, 3 layers (sliding, sliding, full),
               window 8, rope bases 1e6 / 1e4

The prompt (12 tokens) is longer than the sliding windows, so the windows are exercised. Every
norm weight is random too (Gemma's around 0, as it multiplies by 1 + w; the others around 1).
The tokenizer is the families' byte-level BPE (Fixtures/families/tokenizer-bpe.json) for every
folder: these fixtures test the weights, not a family's vocabulary.

    pip install torch transformers safetensors      # a CPU torch wheel is enough
    python3 scripts/make_family_hf_folders.py
"""
import argparse, json, shutil
from pathlib import Path

import torch
import transformers as T

ROOT = Path(__file__).resolve().parent.parent
BPE = ROOT / "Tests/EngineTests/Fixtures/families/tokenizer-bpe.json"
VOCAB = 1025
BOS, EOS = 1015, 1016   # <|begin_of_text|>, <|end_of_text|> of tokenizer-bpe.json
PROMPT = [BOS, 17, 404, 88, 923, 5, 611, 250, 71, 1000, 333, 42]
GREEDY_STEPS = 8

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              bos_token_id=BOS, eos_token_id=EOS, pad_token_id=None)


def configs():
    yield "llama", T.LlamaConfig(**COMMON, rms_norm_eps=1e-5, tie_word_embeddings=True,
                                 rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                                  "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                  "original_max_position_embeddings": 64}), None
    yield "qwen2", T.Qwen2Config(**COMMON, rms_norm_eps=1e-6, tie_word_embeddings=False,
                                 rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), None
    yield "qwen3", T.Qwen3Config(**{**COMMON, "head_dim": 32}, rms_norm_eps=1e-6, tie_word_embeddings=True,
                                 rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), "200KB"
    yield "phi3", T.Phi3Config(**{**COMMON, "num_key_value_heads": 4}, rms_norm_eps=1e-5, tie_word_embeddings=True,
                               sliding_window=2047, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), None
    yield "gemma2", T.Gemma2Config(**{**COMMON, "head_dim": 16}, rms_norm_eps=1e-6, sliding_window=8,
                                   query_pre_attn_scalar=16, attn_logit_softcapping=50.0,
                                   final_logit_softcapping=30.0), None
    yield "gemma3", T.Gemma3TextConfig(**{**COMMON, "head_dim": 16, "num_hidden_layers": 3, "num_key_value_heads": 1},
                                       rms_norm_eps=1e-6, sliding_window=8, query_pre_attn_scalar=16,
                                       layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                                       rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                                                        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}), None


def randomize(model, family, seed):
    g = torch.Generator().manual_seed(seed)
    gemma = family.startswith("gemma")
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() == 1 and "norm" in name:
                base = 0.0 if gemma else 1.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5 * (0.5 if "embed" in name else 1.0))


def run(model):
    """Last-token logits of PROMPT and a greedy continuation (fp32 math, eager attention)."""
    ids = list(PROMPT)
    with torch.no_grad():
        out = model(torch.tensor([ids])).logits[0]
        last = out[-1].tolist()
        steps = []
        for _ in range(GREEDY_STEPS):
            logits = model(torch.tensor([ids])).logits[0, -1]
            top = torch.topk(logits, 2)
            token = int(top.indices[0])
            steps.append({"token": token, "top2": [float(v) for v in top.values]})
            ids.append(token)
    return last, steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "Tests/EngineTests/Fixtures/hf-families"))
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tokenizer = T.PreTrainedTokenizerFast(tokenizer_file=str(BPE), bos_token="<|begin_of_text|>",
                                          eos_token="<|end_of_text|>")
    reference = {}
    for seed, (family, config, shard) in enumerate(configs()):
        torch.manual_seed(seed)
        config._attn_implementation = "eager"
        model = T.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
        randomize(model, family, 1000 + seed)
        variants = [(family, torch.float32)]
        if family == "llama":
            variants.append(("llama-bf16", torch.bfloat16))
        if family == "qwen2":
            variants.append(("qwen2-f16", torch.float16))
        for name, dtype in variants:
            folder = out / name
            stored = model.to(dtype)
            kwargs = {"max_shard_size": shard} if shard else {}
            stored.save_pretrained(folder, safe_serialization=True, **kwargs)
            tokenizer.save_pretrained(folder)
            # The reference: fp32 math on exactly the stored values (what the engine computes), in a
            # model transformers loads back from the folder (so its RoPE buffers are fp32 again:
            # `Module.to(bfloat16)` also rounds `inv_freq`).
            model = stored.to(torch.float32)
            loaded = T.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
            last, steps = run(loaded)
            reference[name] = {"architecture": type(loaded).__name__, "dtype": str(dtype).removeprefix("torch."),
                               "prompt_ids": PROMPT, "logits": last, "greedy": steps}
            size = sum(f.stat().st_size for f in folder.iterdir())
            print(f"{name}: {type(model).__name__}, {size} bytes, greedy {[s['token'] for s in steps]}")
    (out / "reference.json").write_text(json.dumps({"transformers": T.__version__, "torch": torch.__version__,
                                                    "models": reference}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
