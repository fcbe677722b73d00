#!/usr/bin/env python3
"""Builds the reference fixtures in tests/fixtures/ for crowdiff's models/ code.

Run by developers after changing what the fixtures cover (CI never runs it; the output is committed):

    python3 -m venv /work/venv && /work/venv/bin/pip install -r tools/requirements-fixtures.txt
    /work/venv/bin/python tools/make_fixtures.py [--out tests/fixtures]

Everything is seeded: two runs write identical bytes (up to torch/diffusers version changes). The layout is
documented in tests/fixtures/README.md. Outputs, all readable from C++ without Python: .safetensors,
.npy (little-endian float32/int32/int64, C order) and JSON manifests.

What it makes:
  torch_rng/      torch.randn outputs for many seeds, shapes and call sequences (both CPU kernels).
  tokenizer/      HF vocab.json/merges.txt built from OpenAI's BPE file, and token ids for tricky prompts.
  schedules.json  k-diffusion sigma schedules (discrete "normal" and Karras).
  samplers_toy/   every sampler run by k-diffusion itself on a closed-form Gaussian denoiser.
  sd1_tiny/, sd2_tiny/  tiny random-weight models of the real architectures in both layouts (diffusers
                  folder and original single file), with reference activations and complete short runs.
"""
import argparse
import gzip
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BPE_GZ = os.path.join(ROOT, 'models', 'data', 'bpe_simple_vocab_16e6.txt.gz')

SAMPLERS = ['k_euler', 'k_euler_a', 'k_heun', 'k_dpm_2', 'k_dpm_2_a', 'k_lms', 'k_dpmpp_2m', 'k_dpmpp_2s_a',
            'k_dpmpp_sde', 'DDIM', 'lcm']


# ----------------------------------------------------------------------------------------------- helpers

def save_npy(path, array):
    array = np.ascontiguousarray(array)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, array, allow_pickle=False)


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(value, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write('\n')


def randn(shape, seed):
    return torch.randn(shape, generator=torch.Generator('cpu').manual_seed(seed))


# ----------------------------------------------------------------------------------------------- torch rng

def make_torch_rng(out):
    """torch.randn for seeds x shapes, and sequences of calls on one generator (state carries over)."""
    cases = []
    seeds = [0, 1, 42, 123456789, 2 ** 32 + 7, 2 ** 63 - 1]
    sizes = [1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 100, 1000]
    for kernel, capability in (('avx2', 'avx2'), ('scalar', 'default')):
        script = (
            'import torch, numpy as np, sys, json\n'
            'seeds, sizes, out, kernel = json.loads(sys.argv[1])\n'
            'cases = []\n'
            'for seed in seeds:\n'
            '  for n in sizes:\n'
            '    g = torch.Generator("cpu").manual_seed(seed)\n'
            '    a = torch.randn(n, generator=g); b = torch.randn(n, generator=g)\n'
            '    name = "%s_s%d_n%d.npy" % (kernel, seed % 100000, n)\n'
            '    np.save(out + "/" + name, torch.cat([a, b]).numpy())\n'
            '    cases.append({"kernel": kernel, "seed": seed, "calls": [n, n], "file": name})\n'
            'for seed in (0, 1):\n'
            '  g = torch.Generator("cpu").manual_seed(seed)\n'
            '  x = torch.randn([1, 4, 64, 64], generator=g)\n'
            '  name = "%s_s%d_latent64.npy" % (kernel, seed)\n'
            '  np.save(out + "/" + name, x.numpy().reshape(-1))\n'
            '  cases.append({"kernel": kernel, "seed": seed, "calls": [16384], "file": name})\n'
            'g = torch.Generator("cpu").manual_seed(7)\n'
            'seq = [5, 3, 16, 1, 40, 2, 9]\n'
            'parts = [torch.randn(n, generator=g) for n in seq]\n'
            'name = "%s_s7_sequence.npy" % kernel\n'
            'np.save(out + "/" + name, torch.cat(parts).numpy())\n'
            'cases.append({"kernel": kernel, "seed": 7, "calls": seq, "file": name})\n'
            'print(json.dumps(cases))\n')
        os.makedirs(out, exist_ok=True)
        env = dict(os.environ, ATEN_CPU_CAPABILITY=capability)
        result = subprocess.run([sys.executable, '-c', script, json.dumps([seeds, sizes, out, kernel])],
                                env=env, check=True, capture_output=True, text=True)
        cases += json.loads(result.stdout)
    write_json(os.path.join(out, 'manifest.json'), {
        'about': 'torch.randn(n, generator=torch.Generator("cpu").manual_seed(seed)) in float32; calls are '
                 'successive randn calls on one generator, concatenated in the file. kernel avx2 is what x86 '
                 'torch builds use on AVX2/AVX-512 CPUs (ATEN_CPU_CAPABILITY=avx2), scalar the default kernel.',
        'torch': torch.__version__, 'cases': cases})


# ----------------------------------------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + \
        list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_hf_vocab(folder):
    """vocab.json and merges.txt as HF's openai/clip-vit-large-patch14 has them, from OpenAI's BPE file."""
    merges = gzip.open(BPE_GZ).read().decode('utf-8').split('\n')[1:49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + '</w>' for v in vocab] + [''.join(m.split()) for m in merges]
    vocab += ['<|startoftext|>', '<|endoftext|>']
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n' + '\n'.join(merges) + '\n')


PROMPTS = [
    '',
    'a photograph of an astronaut riding a horse',
    'A Photo of a CAT, 4k, highly detailed!!!',
    "it's what you'll do, isn't it? we've I'm they'd",
    'masterpiece, best quality, (red dress:1.2), [blue sky], {soft light}',
    'café naïve façade résumé Ærøskøbing straße',
    '東京タワーの夜景、美しい',
    'Ελληνικά ΟΔΥΣΣΕΥΣ σοφία',
    'emoji 🐱🚀 party 🎉🎉',
    'numbers 1234567 3.14159 -42 1e10',
    'html &amp; entities &lt;b&gt; &quot;quoted&quot; &#39;x&#39; &#x263A; &amp;amp;',
    '  lots   of\twhite\nspace\r\n  ',
    'punctuation...!?;:--__ ~~ @#$%^&*() <<>> ||',
    'a cat ### ugly, blurry, low quality',
    'no negative ###',
    '### only negative',
    'first ### second ### third',
    'x <|endoftext|> y <|startoftext|>',
    ' '.join(['word%d' % i for i in range(60)]),
    ', '.join(['a very long prompt about castles and dragons in the mountains'] * 12),
    'supercalifragilisticexpialidocious antidisestablishmentarianism',
    'blurry, ugly',
]


def reference_clean(text):
    """What crowdiff implements: CLIP's basic_clean without ftfy, whitespace_clean, lower."""
    import html
    import regex
    text = html.unescape(html.unescape(text)).strip()
    return regex.sub(r'\s+', ' ', text).strip().lower()


def chunk(tokens, bos, eos, pad, length=77):
    rows, start = [], 0
    while True:
        part = tokens[start:start + length - 2]
        rows.append(([bos] + part + [eos] + [pad] * length)[:length])
        start += length - 2
        if start >= len(tokens):
            break
    return rows


def make_tokenizer(out):
    from transformers import CLIPTokenizer
    folder = os.path.join(out, 'tokenizer')
    write_hf_vocab(folder)
    hf = CLIPTokenizer(os.path.join(folder, 'vocab.json'), os.path.join(folder, 'merges.txt'))
    cases = []
    for prompt in PROMPTS:
        if '###' in prompt:
            positive, negative = prompt.split('###', 1)
        else:
            positive, negative = prompt, ''
        # HF applies ftfy (when installed) but not html.unescape; feed it the cleaned text so the ids are the
        # reference tokenizer's on exactly the text crowdiff tokenizes, and record whether raw HF agrees.
        ids = hf(reference_clean(positive), add_special_tokens=False)['input_ids']
        raw = hf(positive, add_special_tokens=False)['input_ids']
        neg_ids = hf(reference_clean(negative), add_special_tokens=False)['input_ids']
        cases.append({
            'prompt': prompt, 'positive': positive, 'negative': negative,
            'ids': ids, 'negative_ids': neg_ids, 'hf_raw_agrees': raw == ids,
            'sd1_chunks': chunk(ids, 49406, 49407, 49407), 'sd2_chunks': chunk(ids, 49406, 49407, 0),
        })
    write_json(os.path.join(folder, 'tokens.json'), {
        'about': 'ids: HF CLIPTokenizer on reference_clean(positive) (html.unescape twice, whitespace, lower), '
                 'without BOS/EOS. Chunks: 75 tokens per row, BOS/EOS framed, padded with EOS (SD1) or 0 (SD2). '
                 'hf_raw_agrees: HF on the raw text (ftfy, no HTML unescape) gives the same ids.',
        'bos': 49406, 'eos': 49407, 'cases': cases})
    return folder


# ----------------------------------------------------------------------------------------------- schedules

def discrete_sigmas():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    return ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5


class schedule_model(torch.nn.Module):
    """Just the k-diffusion DiscreteSchedule of SD (CompVisDenoiser without a model)."""

    def __init__(self):
        super().__init__()
        from k_diffusion.external import DiscreteSchedule
        self.schedule = DiscreteSchedule(discrete_sigmas(), quantize=False)


def get_sigmas(kind, steps):
    from k_diffusion.sampling import get_sigmas_karras
    schedule = schedule_model().schedule
    if kind == 'karras':
        return get_sigmas_karras(steps, schedule.sigma_min.item(), schedule.sigma_max.item())
    return schedule.get_sigmas(steps)


def make_schedules(out):
    schedule = schedule_model().schedule
    cases = []
    for kind in ('normal', 'karras'):
        for steps in (1, 2, 5, 10, 25, 50):
            cases.append({'kind': kind, 'steps': steps, 'sigmas': get_sigmas(kind, steps).tolist()})
    t_cases = [{'sigma': s, 't': schedule.sigma_to_t(torch.tensor(s, dtype=torch.float64)).item()}
               for s in (0.0292, 0.03, 0.1, 0.5, 1.0, 2.5, 7.0, 14.6)]
    write_json(os.path.join(out, 'schedules.json'), {
        'about': 'k-diffusion DiscreteSchedule over SD betas (scaled_linear 0.00085..0.012, 1000 steps) in '
                 'float64: get_sigmas(n) ("normal", = ComfyUI normal) and get_sigmas_karras(n, sigma_min, '
                 'sigma_max, rho=7); sigma_to_t with quantize=False.',
        'sigma_min': schedule.sigma_min.item(), 'sigma_max': schedule.sigma_max.item(),
        'schedules': cases, 'sigma_to_t': t_cases})


# ----------------------------------------------------------------------------------------------- samplers

def sample_lcm(model, x, sigmas, noise_sampler):
    """ComfyUI's sample_lcm (not in the k-diffusion package): jump to the estimate, re-noise."""
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * x.new_ones([x.shape[0]]))
        x = denoised
        if sigmas[i + 1] > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * sigmas[i + 1]
    return x


def run_sampler(name, model, x, sigmas, seed, brownian=False):
    """One k-diffusion sampler as the AI Horde worker (ComfyUI) runs it: ancestral noise from a fresh CPU
    generator seeded with the job seed; k_dpmpp_sde uses torch.randn noise unless `brownian`."""
    import k_diffusion.sampling as ks
    generator = torch.Generator('cpu').manual_seed(seed)

    def noise_sampler(sigma, sigma_next):
        return torch.randn(x.shape, generator=generator)

    if name == 'k_dpmpp_sde' and brownian:
        positive = sigmas[sigmas > 0]
        noise_sampler = ks.BrownianTreeNoiseSampler(x, positive.min(), sigmas.max(), seed=seed)
    fn = {'k_euler': ks.sample_euler, 'DDIM': ks.sample_euler, 'k_heun': ks.sample_heun,
          'k_dpm_2': ks.sample_dpm_2, 'k_lms': ks.sample_lms, 'k_dpmpp_2m': ks.sample_dpmpp_2m}.get(name)
    if fn is not None:
        return fn(model, x, sigmas, disable=True)
    if name == 'lcm':
        return sample_lcm(model, x, sigmas, noise_sampler)
    fn = {'k_euler_a': ks.sample_euler_ancestral, 'k_dpm_2_a': ks.sample_dpm_2_ancestral,
          'k_dpmpp_2s_a': ks.sample_dpmpp_2s_ancestral, 'k_dpmpp_sde': ks.sample_dpmpp_sde}[name]
    return fn(model, x, sigmas, disable=True, noise_sampler=noise_sampler)


def make_toy_samplers(out):
    """Each sampler on x0 ~ N(mu, s^2) per element, where the ideal denoiser is closed-form:
    D(x, sigma) = mu + s^2 / (s^2 + sigma^2) * (x - mu)."""
    folder = os.path.join(out, 'samplers_toy')
    n = 64
    mu = torch.linspace(-1, 1, n, dtype=torch.float64).float()
    s = 0.5

    def model(x, sigma):
        sigma = sigma.reshape(-1, *([1] * (x.ndim - 1)))
        return mu + s * s / (s * s + sigma * sigma) * (x - mu)

    cases = []
    for name in SAMPLERS:
        for kind, steps in (('normal', 10), ('karras', 7)):
            for brownian in ((False, True) if name == 'k_dpmpp_sde' else (False,)):
                seed = 1234
                sigmas = get_sigmas(kind, steps).float()
                x = randn([1, n], seed) * sigmas[0]
                with torch.no_grad():
                    final = run_sampler(name, model, x.clone(), sigmas, seed, brownian)
                tag = '%s_%s%d%s' % (name, kind, steps, '_brownian' if brownian else '')
                save_npy(os.path.join(folder, tag + '.npy'), final.numpy().reshape(-1))
                cases.append({'sampler': name, 'schedule': kind, 'steps': steps, 'seed': seed,
                              'noise': 'brownian_tree' if brownian else 'torch_randn', 'file': tag + '.npy',
                              'sigmas': sigmas.tolist()})
    write_json(os.path.join(folder, 'manifest.json'), {
        'about': 'k-diffusion samplers on a closed-form denoiser D(x, sigma) = mu + s^2/(s^2+sigma^2) (x - mu), '
                 'mu = linspace(-1, 1, 64) (float64 then float32), s = 0.5. x starts as torch.randn([1, 64], seed) '
                 '* sigmas[0]; sigmas are the float32 schedules of schedules.json. Stochastic samplers draw '
                 'torch.randn(x.shape) from a fresh CPU generator seeded with `seed` (ComfyUI), except '
                 'noise=brownian_tree (k-diffusion BrownianTreeNoiseSampler(seed)). lcm is ComfyUI\'s. '
                 'sigmas: the exact float32 levels used (torch computes Karras levels in float32).',
        'size': n, 's': s, 'cases': cases})


# ----------------------------------------------------------------------------------------------- tiny models

def text_state(text):
    """The text encoder's weights under the names every SD checkpoint uses ("text_model." prefix), which
    transformers 5 no longer puts in state_dict()."""
    return {(k if k.startswith('text_model.') else 'text_model.' + k): v
            for k, v in text.state_dict().items() if not k.endswith('position_ids')}


def final_norm(text):
    return getattr(text, 'text_model', text).final_layer_norm


def round_to(model, dtype):
    """Rounds the weights to the storage dtype so that float32 references use exactly the stored values."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).float())
    return model


def init_weights(model, seed, std=0.2):
    """Random weights large enough that every layer matters (default init makes a fresh UNet output ~0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('bias'):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            elif 'norm' in name and p.ndim == 1:
                p.copy_(1 + torch.randn(p.shape, generator=g) * 0.1)
            else:
                fan_in = max(1, p[0].numel()) if p.ndim > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) * (std if p.ndim == 1 else 1.0 / math.sqrt(fan_in)))
    return model


def build_models(family, used_tokens):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    sd2 = family == 'sd2'
    hidden = 32
    text_layers = 3
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=hidden, intermediate_size=64, num_hidden_layers=text_layers,
        num_attention_heads=4, max_position_embeddings=77, hidden_act='gelu' if sd2 else 'quick_gelu',
        layer_norm_eps=1e-5, bos_token_id=49406, eos_token_id=49407, pad_token_id=1, projection_dim=hidden))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'), up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
        cross_attention_dim=hidden, attention_head_dim=[2, 4] if sd2 else 4, norm_num_groups=8,
        use_linear_projection=sd2)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=('DownEncoderBlock2D',) * 2, up_block_types=('UpDecoderBlock2D',) * 2, norm_num_groups=8,
        sample_size=16, scaling_factor=0.18215)
    seed = 2 if sd2 else 1
    text = init_weights(text, seed * 10 + 1)
    # Only the rows of tokens some fixture uses can influence a reference; zero rows compress to nothing in
    # git, which keeps the committed fixtures small despite the real 49,408-token vocabulary.
    with torch.no_grad():
        embedding = getattr(text, 'text_model', text).embeddings.token_embedding.weight
        keep = torch.zeros(embedding.shape[0], dtype=torch.bool)
        keep[sorted(used_tokens)] = True
        embedding[~keep] = 0
    return text, init_weights(unet, seed * 10 + 2), init_weights(vae, seed * 10 + 3)


# Diffusers -> original (CompVis/LDM, OpenCLIP) names: the inverse of what models/weights/key_mapping.cpp
# does, written independently and checked below against diffusers' own single-file converters.

def unet_to_ldm(state, layers_per_block, levels, attention_levels):
    out = {}
    resnet = [('norm1', 'in_layers.0'), ('conv1', 'in_layers.2'), ('time_emb_proj', 'emb_layers.1'),
              ('norm2', 'out_layers.0'), ('conv2', 'out_layers.3'), ('conv_shortcut', 'skip_connection')]

    def res(rest):
        for a, b in resnet:
            if rest.startswith(a + '.'):
                return b + rest[len(a):]
        raise KeyError(rest)

    for key, value in state.items():
        parts = key.split('.')
        if key.startswith('time_embedding.linear_1.'):
            new = 'time_embed.0.' + parts[-1]
        elif key.startswith('time_embedding.linear_2.'):
            new = 'time_embed.2.' + parts[-1]
        elif key.startswith('conv_in.'):
            new = 'input_blocks.0.0.' + parts[-1]
        elif key.startswith('conv_norm_out.'):
            new = 'out.0.' + parts[-1]
        elif key.startswith('conv_out.'):
            new = 'out.2.' + parts[-1]
        elif key.startswith('down_blocks.'):
            level, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), '.'.join(parts[4:])
            if kind == 'downsamplers':
                new = 'input_blocks.%d.0.op.%s' % ((level + 1) * (layers_per_block + 1), parts[-1])
            else:
                block = 1 + level * (layers_per_block + 1) + index
                new = 'input_blocks.%d.%s' % (block, ('0.' + res(rest)) if kind == 'resnets' else ('1.' + rest))
        elif key.startswith('mid_block.'):
            kind, index, rest = parts[1], int(parts[2]), '.'.join(parts[3:])
            new = 'middle_block.%d.%s' % (1 if kind == 'attentions' else 2 * index,
                                          rest if kind == 'attentions' else res(rest))
        elif key.startswith('up_blocks.'):
            level, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), '.'.join(parts[4:])
            if kind == 'upsamplers':
                block = level * (layers_per_block + 1) + layers_per_block
                child = 2 if (levels - 1 - level) in attention_levels else 1
                new = 'output_blocks.%d.%d.%s' % (block, child, rest)
            else:
                block = level * (layers_per_block + 1) + index
                new = 'output_blocks.%d.%s' % (block, ('0.' + res(rest)) if kind == 'resnets' else ('1.' + rest))
        else:
            raise KeyError(key)
        out['model.diffusion_model.' + new] = value
    return out


def vae_to_ldm(state, levels):
    out = {}
    for key, value in state.items():
        new = key
        for side in ('encoder', 'decoder'):
            new = new.replace(side + '.conv_norm_out.', side + '.norm_out.')
            new = new.replace(side + '.mid_block.resnets.0.', side + '.mid.block_1.')
            new = new.replace(side + '.mid_block.resnets.1.', side + '.mid.block_2.')
            new = new.replace(side + '.mid_block.attentions.0.', side + '.mid.attn_1.')
        parts = new.split('.')
        if parts[1] in ('down_blocks', 'up_blocks'):
            level = int(parts[2])
            if parts[1] == 'up_blocks':
                level = levels - 1 - level
            head = '%s.%s.%d' % (parts[0], 'down' if parts[1] == 'down_blocks' else 'up', level)
            if parts[3] == 'resnets':
                new = head + '.block.' + '.'.join(parts[4:])
            else:
                new = head + ('.downsample.' if parts[3] == 'downsamplers' else '.upsample.') + '.'.join(parts[5:])
        new = new.replace('.conv_shortcut.', '.nin_shortcut.')
        if '.mid.attn_1.' in new:
            for a, b in (('group_norm', 'norm'), ('to_q', 'q'), ('to_k', 'k'), ('to_v', 'v'), ('to_out.0', 'proj_out')):
                new = new.replace('.mid.attn_1.%s.' % a, '.mid.attn_1.%s.' % b)
            if value.ndim == 2:
                value = value[:, :, None, None]
        out['first_stage_model.' + new] = value
    return out


def clip_to_ldm(state):
    return {'cond_stage_model.transformer.' + k: v for k, v in state.items() if not k.endswith('position_ids')}


def open_clip_to_ldm(state, layers, hidden):
    p = 'cond_stage_model.model.'
    t = 'text_model.'
    out = {p + 'token_embedding.weight': state[t + 'embeddings.token_embedding.weight'],
           p + 'positional_embedding': state[t + 'embeddings.position_embedding.weight'],
           p + 'ln_final.weight': state[t + 'final_layer_norm.weight'],
           p + 'ln_final.bias': state[t + 'final_layer_norm.bias'],
           p + 'text_projection': torch.randn([hidden, hidden], generator=torch.Generator().manual_seed(5)),
           p + 'logit_scale': torch.tensor(4.6052)}
    for i in range(layers):
        d = t + 'encoder.layers.%d.' % i
        o = p + 'transformer.resblocks.%d.' % i
        for a, b in (('layer_norm1', 'ln_1'), ('layer_norm2', 'ln_2'), ('self_attn.out_proj', 'attn.out_proj'),
                     ('mlp.fc1', 'mlp.c_fc'), ('mlp.fc2', 'mlp.c_proj')):
            for leaf in ('weight', 'bias'):
                out[o + b + '.' + leaf] = state[d + a + '.' + leaf]
        for leaf in ('weight', 'bias'):
            out[o + 'attn.in_proj_' + leaf] = torch.cat(
                [state[d + 'self_attn.%s_proj.%s' % (q, leaf)] for q in 'qkv'], dim=0)
    return out


def check_against_diffusers(ldm, unet, vae, text, family):
    """diffusers' own single-file converters must give back our diffusers state dicts."""
    from diffusers.loaders import single_file_utils as sfu
    unet_back = sfu.convert_ldm_unet_checkpoint(ldm, dict(unet.config))
    for k, v in unet.state_dict().items():
        assert torch.equal(unet_back[k], v), k
    assert len(unet_back) == len(unet.state_dict())
    vae_back = sfu.convert_ldm_vae_checkpoint(ldm, dict(vae.config))
    for k, v in vae.state_dict().items():
        assert torch.equal(vae_back[k].reshape(v.shape), v), k
    if family == 'sd1':
        text_back = sfu.convert_ldm_clip_checkpoint(ldm)
    else:
        text_back = sfu.convert_open_clip_checkpoint(text, ldm)
    for k, v in text_state(text).items():
        assert torch.equal(text_back[k], v), k


def save_safetensors(path, state, dtype):
    from safetensors.torch import save_file
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: v.detach().to(dtype).contiguous() for k, v in state.items()}, path)


def save_diffusers_folder(folder, family, text, unet, vae, dtype, vocab_folder):
    if os.path.exists(folder):
        shutil.rmtree(folder)
    sd2 = family == 'sd2'
    save_safetensors(os.path.join(folder, 'text_encoder', 'model.safetensors'), text_state(text), dtype)
    save_safetensors(os.path.join(folder, 'unet', 'diffusion_pytorch_model.safetensors'), unet.state_dict(), dtype)
    save_safetensors(os.path.join(folder, 'vae', 'diffusion_pytorch_model.safetensors'), vae.state_dict(), dtype)
    text.config.to_json_file(os.path.join(folder, 'text_encoder', 'config.json'))
    unet.save_config(os.path.join(folder, 'unet'))
    vae.save_config(os.path.join(folder, 'vae'))
    pad = '!' if sd2 else '<|endoftext|>'
    write_json(os.path.join(folder, 'tokenizer', 'tokenizer_config.json'), {
        'tokenizer_class': 'CLIPTokenizer', 'model_max_length': 77, 'do_lower_case': True,
        'bos_token': '<|startoftext|>', 'eos_token': '<|endoftext|>', 'unk_token': '<|endoftext|>',
        'pad_token': pad})
    write_json(os.path.join(folder, 'tokenizer', 'special_tokens_map.json'), {
        'bos_token': '<|startoftext|>', 'eos_token': '<|endoftext|>', 'unk_token': '<|endoftext|>',
        'pad_token': pad})
    write_json(os.path.join(folder, 'scheduler', 'scheduler_config.json'), {
        '_class_name': 'EulerDiscreteScheduler', 'beta_start': 0.00085, 'beta_end': 0.012,
        'beta_schedule': 'scaled_linear', 'num_train_timesteps': 1000,
        'prediction_type': 'v_prediction' if sd2 else 'epsilon'})
    write_json(os.path.join(folder, 'model_index.json'), {
        '_class_name': 'StableDiffusionPipeline', 'scheduler': ['diffusers', 'EulerDiscreteScheduler'],
        'text_encoder': ['transformers', 'CLIPTextModel'], 'tokenizer': ['transformers', 'CLIPTokenizer'],
        'unet': ['diffusers', 'UNet2DConditionModel'], 'vae': ['diffusers', 'AutoencoderKL']})


class tiny_pipeline:
    """The reference pipeline in k-diffusion's convention (see README.md): c_in scaling, t = sigma_to_t(sigma)
    unquantized, eps or v conversion, classifier-free guidance on the denoised estimates."""

    def __init__(self, family, text, unet, vae, vocab_folder):
        from transformers import CLIPTokenizer
        self.sd2 = family == 'sd2'
        self.text, self.unet, self.vae = text, unet, vae
        self.tokenizer = CLIPTokenizer(os.path.join(vocab_folder, 'vocab.json'),
                                       os.path.join(vocab_folder, 'merges.txt'))
        self.schedule = schedule_model().schedule

    def token_rows(self, prompt):
        ids = self.tokenizer(reference_clean(prompt), add_special_tokens=False)['input_ids']
        return torch.tensor(chunk(ids, 49406, 49407, 0 if self.sd2 else 49407))

    def encode(self, prompt):
        """Each 77-token chunk encoded separately, concatenated along the sequence. SD1: the last layer with
        the final layer norm; SD2: the penultimate layer with the final layer norm (what SD2 was trained on;
        in the diffusers folder, which drops the last layer, this is last_hidden_state)."""
        rows = self.token_rows(prompt)
        out = self.text(rows, output_hidden_states=True)
        hidden = out.last_hidden_state if not self.sd2 else final_norm(self.text)(out.hidden_states[-2])
        return hidden.reshape(1, -1, hidden.shape[-1])

    def denoiser(self, cond, uncond, cfg):
        def model(x, sigma):
            sigma = sigma.reshape(-1)
            c_in = 1 / (sigma ** 2 + 1) ** 0.5
            t = self.schedule.sigma_to_t(sigma)
            out = []
            for context in (cond, uncond):
                pred = self.unet(x * c_in[:, None, None, None], t, encoder_hidden_states=context).sample
                s = sigma[:, None, None, None]
                if self.sd2:
                    out.append(x / (s ** 2 + 1) - pred * s / (s ** 2 + 1) ** 0.5)
                else:
                    out.append(x - pred * s)
            return out[1] + cfg * (out[0] - out[1])
        return model

    def decode(self, latent):
        return self.vae.decode(latent / self.vae.config.scaling_factor).sample


def make_model_fixtures(out, family, vocab_folder, used_tokens):
    torch.manual_seed(0)
    sd2 = family == 'sd2'
    dtype = torch.bfloat16 if sd2 else torch.float16
    folder = os.path.join(out, family + '_tiny')
    os.makedirs(folder, exist_ok=True)
    text, unet, vae = (round_to(m, dtype).eval() for m in build_models(family, used_tokens))

    # Layouts. SD2's single file has OpenCLIP's full text tower: one more layer than the diffusers folder,
    # which (like diffusers' conversion of real SD2) drops the last layer that SD2 never uses.
    text_layers = text.config.num_hidden_layers
    ldm = {}
    ldm.update(unet_to_ldm(unet.state_dict(), 1, 2, {0}))
    ldm.update(vae_to_ldm(vae.state_dict(), 2))
    if sd2:
        ldm.update(open_clip_to_ldm(text_state(text), text_layers, text.config.hidden_size))
    else:
        ldm.update(clip_to_ldm(text_state(text)))
    ldm['alphas_cumprod'] = torch.cumprod(1 - torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000) ** 2, 0)
    ldm['model_ema.decay'] = torch.tensor(0.9999)
    check_against_diffusers(ldm, unet, vae, text, family)
    single = {k: v for k, v in ldm.items()}
    save_safetensors(os.path.join(folder, family + '_tiny.safetensors'), single, dtype)

    diffusers_text = text
    if sd2:
        from transformers import CLIPTextModel
        config = text.config.__class__(**{**text.config.to_dict(), 'num_hidden_layers': text_layers - 1})
        diffusers_text = CLIPTextModel(config).eval()
        state = {k: v for k, v in text.state_dict().items() if '.layers.%d.' % (text_layers - 1) not in k}
        missing, unexpected = diffusers_text.load_state_dict(state, strict=False)
        assert not unexpected and all(k.endswith('position_ids') for k in missing), (missing, unexpected)
    save_diffusers_folder(os.path.join(folder, 'diffusers'), family, diffusers_text, unet, vae, dtype, vocab_folder)

    ref = os.path.join(folder, 'reference')
    if os.path.exists(ref):
        shutil.rmtree(ref)
    manifest = {'family': family, 'dtype': str(dtype).replace('torch.', ''),
                'prediction': 'v_prediction' if sd2 else 'epsilon', 'text_layers_in_single_file': text_layers,
                'text_layers_in_diffusers': diffusers_text.config.num_hidden_layers, 'files': {}}

    def put(name, tensor, about):
        save_npy(os.path.join(ref, name + '.npy'), tensor.detach().float().numpy())
        manifest['files'][name] = {'file': name + '.npy', 'shape': list(tensor.shape), 'about': about}

    pipe = tiny_pipeline(family, text, unet, vae, vocab_folder)
    with torch.no_grad():
        prompt = 'a photograph of an astronaut riding a horse'
        rows = pipe.token_rows(prompt)
        manifest['text_prompt'] = prompt
        put('text_tokens', rows.to(torch.int32), 'token ids fed to the text encoder')
        out = text(rows, output_hidden_states=True)
        put('text_last_hidden', out.last_hidden_state, 'last layer + final_layer_norm (single-file layer count)')
        put('text_penultimate', out.hidden_states[-2], 'output of the penultimate layer, no final norm (clip skip 2)')
        put('text_penultimate_norm', final_norm(text)(out.hidden_states[-2]),
            'penultimate layer + final_layer_norm (ComfyUI clip skip 2; SD2 conditioning)')
        put('text_pooled', out.pooler_output, 'final-norm hidden state at the first EOS token')
        long_prompt = ', '.join(['a very long prompt about castles and dragons in the mountains'] * 8)
        manifest['long_prompt'] = long_prompt
        put('text_long_conditioning', pipe.encode(long_prompt), 'pipeline conditioning of long_prompt: chunks '
            'of 75 tokens encoded separately and concatenated (SD1: last layer; SD2: penultimate + norm)')

        latent = randn([1, 4, 8, 8], 11)
        context = pipe.encode(prompt)
        put('unet_input', latent, 'latent fed to the UNet (already scaled by c_in)')
        put('unet_context', context, 'encoder_hidden_states')
        for t in (999.0, 500.0, 37.25):
            put('unet_output_t%g' % t, unet(latent, torch.tensor([t]), encoder_hidden_states=context).sample,
                'UNet output (%s) at timestep %g' % (manifest['prediction'], t))

        # Sides that do not halve evenly down the UNet (diffusers upsamples to the skip's size): 7 x 5.
        odd = randn([1, 4, 7, 5], 13)
        put('unet_input_odd', odd, 'latent whose sides are not multiples of the UNet downsampling factor')
        put('unet_output_odd_t500', unet(odd, torch.tensor([500.0]), encoder_hidden_states=context).sample,
            'UNet output (%s) at timestep 500 for unet_input_odd' % manifest['prediction'])

        put('vae_decode_input', latent, 'latent z (unscaled: the decoder input after / scaling_factor)')
        put('vae_decode_output', vae.decode(latent).sample, 'decoder output image, roughly [-1, 1]')
        image = torch.tanh(randn([1, 3, 16, 16], 12))
        dist = vae.encode(image).latent_dist
        put('vae_encode_input', image, 'image in [-1, 1]')
        put('vae_encode_mean', dist.mean, 'posterior mean (unscaled)')
        put('vae_encode_logvar', dist.logvar, 'posterior log variance (clamped to [-30, 20])')

        runs = []
        negative = 'blurry, ugly'
        uncond = pipe.encode(negative)
        seed, cfg = 42, 5.0
        for name in SAMPLERS:
            for kind, steps in (('normal', 4), ('karras', 3)):
                sigmas = get_sigmas(kind, steps).float()
                x = randn([1, 4, 8, 8], seed) * sigmas[0]
                final = run_sampler(name, pipe.denoiser(context, uncond, cfg), x, sigmas, seed)
                tag = 'run_%s_%s%d' % (name, kind, steps)
                put(tag + '_latent', final, 'final latent')
                put(tag + '_image', pipe.decode(final), 'VAE decode of latent / scaling_factor')
                runs.append({'sampler': name, 'schedule': kind, 'steps': steps, 'seed': seed, 'cfg': cfg,
                             'latent': tag + '_latent', 'image': tag + '_image'})
        # img2img: denoise 0.6 over 5 steps (ComfyUI: the last 6 levels of an int(5 / 0.6) = 8-step schedule).
        source = vae.encode(image).latent_dist.mean * vae.config.scaling_factor
        put('img2img_source_latent', source, 'scaled source latent (encode mean * scaling_factor)')
        sigmas = get_sigmas('normal', int(5 / 0.6))[-(5 + 1):].float()
        x = source + randn([1, 4, 8, 8], seed) * sigmas[0]
        final = run_sampler('k_euler', pipe.denoiser(context, uncond, cfg), x, sigmas, seed)
        put('img2img_k_euler_latent', final, 'img2img final latent')
        runs.append({'sampler': 'k_euler', 'schedule': 'normal', 'steps': 5, 'denoise': 0.6, 'seed': seed,
                     'cfg': cfg, 'source': 'img2img_source_latent', 'latent': 'img2img_k_euler_latent'})
        manifest['runs'] = runs
        manifest['negative_prompt'] = negative
    write_json(os.path.join(ref, 'manifest.json'), manifest)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default=os.path.join(ROOT, 'tests', 'fixtures'))
    args = parser.parse_args()
    torch.set_num_threads(1)  # fixed reduction order: the same bytes on every machine of one CPU kind
    out = os.path.abspath(args.out)
    make_torch_rng(os.path.join(out, 'torch_rng'))
    vocab = make_tokenizer(out)
    make_schedules(out)
    make_toy_samplers(out)
    used = {0, 49406, 49407}
    for case in json.load(open(os.path.join(vocab, 'tokens.json')))['cases']:
        used.update(case['ids'] + case['negative_ids'])
    for family in ('sd1', 'sd2'):
        make_model_fixtures(out, family, vocab, used)
    print('fixtures written to', out)


if __name__ == '__main__':
    main()
