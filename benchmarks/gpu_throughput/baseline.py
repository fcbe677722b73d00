#!/usr/bin/env python3
"""The PyTorch + diffusers baseline of bench gpu_throughput, run by it in the same process tree and on the same
card: scaled-dot-product attention on the shapes it passes (every SDPA backend PyTorch offers, the fastest
kept), and the SD 1.5 UNet (full size, random f16 weights, SDPA attention) at the sizes and batches it asks.

Prints one JSON line. Needs torch with CUDA; diffusers for the UNet part (its absence is reported, not fatal).
"""

import argparse
import json
import statistics
import sys
import time


def timed(fn, torch, warmup=3, reps=10, rounds=5):
    """Median seconds per call over `rounds` rounds of `reps` calls, timed with CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1000.0 / reps)
    return statistics.median(samples)


def attention(torch, shapes):
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = [("flash", SDPBackend.FLASH_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION)]
    if hasattr(SDPBackend, "CUDNN_ATTENTION"):
        backends.append(("cudnn", SDPBackend.CUDNN_ATTENTION))
    out = []
    for b, h, lq, lk, d in shapes:
        # The layout diffusers (and crowdiff) use: [b, l, h * d] viewed as [b, h, l, d].
        q = torch.randn(b, lq, h * d, device="cuda", dtype=torch.float16).view(b, lq, h, d).transpose(1, 2)
        k = torch.randn(b, lk, h * d, device="cuda", dtype=torch.float16).view(b, lk, h, d).transpose(1, 2)
        v = torch.randn(b, lk, h * d, device="cuda", dtype=torch.float16).view(b, lk, h, d).transpose(1, 2)
        flops = 4.0 * b * h * lq * lk * d
        best = {"shape": [b, h, lq, lk, d], "tflops": None, "backend": None, "tried": {}}
        for name, backend in backends:
            try:
                with sdpa_kernel(backend):
                    seconds = timed(lambda: F.scaled_dot_product_attention(q, k, v), torch)
            except RuntimeError as e:  # this backend does not take the shape or dtype
                best["tried"][name] = "unsupported: " + str(e).splitlines()[0][:120]
                continue
            tflops = flops / seconds / 1e12
            best["tried"][name] = round(tflops, 2)
            if best["tflops"] is None or tflops > best["tflops"]:
                best["tflops"], best["backend"] = tflops, name
        out.append(best)
    return out


SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, cross_attention_dim=768,
    block_out_channels=(320, 640, 1280, 1280), attention_head_dim=8,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
)


def unet(torch, runs, steps):
    try:
        import diffusers
        from diffusers import UNet2DConditionModel
        from diffusers.models.attention_processor import AttnProcessor2_0
    except ImportError as e:
        return None, "diffusers is not installed: " + str(e)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = UNet2DConditionModel(**SD15_UNET).to(torch.float16).eval()
    model.set_attn_processor(AttnProcessor2_0())  # PyTorch's scaled_dot_product_attention
    out = []
    for size, batch in runs:
        rows = 2 * batch  # classifier-free guidance: conditional and unconditional rows
        latents = torch.randn(rows, 4, size // 8, size // 8, device="cuda", dtype=torch.float16)
        context = torch.randn(rows, 77, 768, device="cuda", dtype=torch.float16)
        timestep = torch.full((rows,), 999, device="cuda", dtype=torch.long)
        with torch.inference_mode():
            seconds = timed(lambda: model(latents, timestep, context).sample, torch, warmup=3, reps=3, rounds=5)
        out.append({"size": size, "batch": batch, "unet_batch": rows, "steps_per_s": 1.0 / seconds,
                    "images_per_s": batch / (seconds * steps)})
    del model
    torch.cuda.empty_cache()
    return {"diffusers": diffusers.__version__, "runs": out}, None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attention", default="", help="shapes b,h,lq,lk,d separated by ';'")
    parser.add_argument("--unet", default="", help="runs size,batch separated by ';' (batch before CFG)")
    parser.add_argument("--steps", type=int, default=20, help="sampling steps per image, for images/s")
    args = parser.parse_args()
    result = {"baseline": "pytorch", "errors": []}
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"baseline": "pytorch", "errors": ["no torch: " + str(e)]}))
        return 0
    if not torch.cuda.is_available():
        print(json.dumps({"baseline": "pytorch", "errors": ["torch sees no CUDA device"]}))
        return 0
    torch.backends.cuda.matmul.allow_tf32 = True
    result["device"] = torch.cuda.get_device_name(0)
    result["torch"] = torch.__version__
    shapes = [tuple(int(v) for v in s.split(",")) for s in args.attention.split(";") if s]
    runs = [tuple(int(v) for v in s.split(",")) for s in args.unet.split(";") if s]
    started = time.time()
    result["attention"] = attention(torch, shapes)
    if runs:
        unet_result, error = unet(torch, runs, args.steps)
        result["unet"] = unet_result
        if error:
            result["errors"].append(error)
    result["seconds"] = round(time.time() - started, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
