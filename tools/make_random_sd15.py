#!/usr/bin/env python3
"""Writes a Stable Diffusion 1.5-architecture model with random weights, for benchmarks/cpu_pipeline.

The benchmark measures speed and memory, which depend on the architecture and the storage dtype but not on
the weights' values, so a random model stands in for the real SD 1.5 (4 GB to download, and a licence to
accept). The output is a diffusers folder with float16 safetensors, as SD 1.5 is usually shipped, that
both crowdiff and diffusers' StableDiffusionPipeline load. Never commit it (about 2 GB):

    /work/venv/bin/python tools/make_random_sd15.py [--out /work/models/sd15-random] [--seed 0]

Architecture: diffusers' SD 1.5 configuration written out here (no download): UNet with block channels
(320, 640, 1280, 1280), 2 layers per block, cross-attention to 768 channels with 8 heads; the VAE with
(128, 256, 512, 512); OpenAI CLIP ViT-L/14's text tower (12 layers, 768 wide, quick_gelu). The tokenizer
files come from tests/fixtures/tokenizer (the standard CLIP vocabulary).
"""
import argparse
import os
import shutil

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(seed):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
        cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32, act_fn='silu', flip_sin_to_cos=True,
        freq_shift=0, downsample_padding=1, mid_block_scale_factor=1, norm_eps=1e-5)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512),
        layers_per_block=2, down_block_types=('DownEncoderBlock2D',) * 4, up_block_types=('UpDecoderBlock2D',) * 4,
        norm_num_groups=32, act_fn='silu', sample_size=512, scaling_factor=0.18215)
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        max_position_embeddings=77, hidden_act='quick_gelu', layer_norm_eps=1e-5, bos_token_id=49406,
        eos_token_id=49407, pad_token_id=1, projection_dim=768))
    return unet.eval(), vae.eval(), text.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='/work/models/sd15-random')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer
    unet, vae, text = build(args.seed)
    tokenizer = CLIPTokenizer(os.path.join(ROOT, 'tests', 'fixtures', 'tokenizer', 'vocab.json'),
                              os.path.join(ROOT, 'tests', 'fixtures', 'tokenizer', 'merges.txt'),
                              pad_token='<|endoftext|>', model_max_length=77)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
                                       num_train_timesteps=1000, prediction_type='epsilon')
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe = pipe.to(torch.float16)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    pipe.save_pretrained(args.out, safe_serialization=True)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(args.out) for f in files)
    print('wrote %s (%.2f GB)' % (args.out, total / 1e9))


if __name__ == '__main__':
    main()
