#!/usr/bin/env python3
"""The baseline of bench_cpu_pipeline: the same job in PyTorch/diffusers on the CPU.

Loads the model folder with diffusers' StableDiffusionPipeline (the Euler scheduler, as crowdiff's k_euler),
generates one image with guidance 7.5 (a UNet batch of two per step) and prints one JSON line with the same
figures as crowdiff's side: load_s, first_step_s, s_per_step (median of steps 2..N), decode_s (VAE decode and
image encoding after the last step), end_to_end_s (prompt to encoded image, after loading). The benchmark
program runs it in its own process and measures its peak memory from outside.

    python baseline.py --model /work/models/sd15-random [--steps 20] [--size 512] [--threads 2]
                       [--dtype float32|bfloat16]
"""
import argparse
import io
import json
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', required=True)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--threads', type=int, default=0)
    parser.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'])
    args = parser.parse_args()

    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)

    load_start = time.perf_counter()
    pipe = StableDiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    load_s = time.perf_counter() - load_start

    stamps = []

    def on_step(pipeline, step, timestep, kwargs):
        stamps.append(time.perf_counter() - start)
        print('diffusers: step %d/%d at %.1f s' % (step + 1, args.steps, stamps[-1]), file=sys.stderr, flush=True)
        return kwargs

    start = time.perf_counter()
    image = pipe('a photograph of an astronaut riding a horse on the moon, detailed, 8k',
                 negative_prompt='blurry, low quality', num_inference_steps=args.steps, guidance_scale=7.5,
                 height=args.size, width=args.size, generator=torch.Generator('cpu').manual_seed(1),
                 callback_on_step_end=on_step).images[0]
    encoded = io.BytesIO()
    image.save(encoded, format='webp', quality=95)
    end_to_end = time.perf_counter() - start
    durations = sorted(b - a for a, b in zip(stamps, stamps[1:]))
    per_step = durations[len(durations) // 2] if durations else stamps[0]
    print(json.dumps({'side': 'diffusers', 'load_s': round(load_s, 3), 'first_step_s': round(stamps[0], 3),
                      's_per_step': round(per_step, 4), 'decode_s': round(end_to_end - stamps[-1], 3),
                      'end_to_end_s': round(end_to_end, 3), 'steps': args.steps, 'dtype': args.dtype,
                      'torch': torch.__version__, 'threads': torch.get_num_threads()}))


if __name__ == '__main__':
    main()
