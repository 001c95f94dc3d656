"""Video models: load a local diffusers folder or single file, place it, add LoRAs, build tiny ones for tests.

A :class:`VideoModel` holds the real diffusers/transformers modules of one family
(``wan``: ``WanTransformer3DModel`` + ``AutoencoderKLWan`` + UMT5; ``ltx``:
``LTXVideoTransformer3DModel`` + ``AutoencoderKLLTXVideo`` + T5) plus what our
loop needs from the scheduler config. Family code (text encoding, forward,
latent normalisation) lives in :mod:`.wan` and :mod:`.ltx`.

Model folders use the standard diffusers pipeline layout, as
``WanPipeline.save_pretrained(dir)`` writes it: ``model_index.json``,
``transformer/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``
(plus ``image_encoder/`` and ``image_processor/`` for Wan 2.1 image-to-video).
Supported: Wan 2.1 T2V, Wan 2.1 I2V/FLF2V, Wan 2.2 TI2V (single transformer),
LTX-Video 0.9.x. Not supported: Wan 2.2 A14B's second expert (``transformer_2``).
A single ``.safetensors`` transformer file (diffusers keys, or the original
Wan/LTX layout converted by diffusers' ``from_single_file``) is loaded on top of
a ``base`` folder that supplies the VAE, text encoder and tokenizer.

Placement: ``device=None`` picks CUDA when present, else CPU; ``dtype=None`` is
bfloat16 on CUDA, float32 on CPU. The Wan VAE stays float32 (as diffusers
recommends: it is small and bf16 decoding bands). Asking for CUDA, offload or
compile-for-GPU on a machine without CUDA raises :class:`InputError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from adloom.core.errors import InputError

FAMILY_OF_PIPELINE = {
    "WanPipeline": "wan",
    "WanImageToVideoPipeline": "wan",
    "WanVideoToVideoPipeline": "wan",
    "LTXPipeline": "ltx",
    "LTXImageToVideoPipeline": "ltx",
    "LTXConditionPipeline": "ltx",
}
FAMILY_OF_TRANSFORMER = {"WanTransformer3DModel": "wan", "LTXVideoTransformer3DModel": "ltx"}
FAMILIES = ("wan", "ltx")
LAYOUT_HINT = (
    "a diffusers pipeline folder (model_index.json, transformer/, vae/, text_encoder/, tokenizer/, scheduler/) "
    "of a supported family (Wan 2.x, LTX-Video), or a .safetensors transformer file together with base=<such a folder>"
)
_DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16", "fp32": "float32"}


def family_module(family: str) -> ModuleType:
    if family == "wan":
        from adloom.creative.video import wan

        return wan
    if family == "ltx":
        from adloom.creative.video import ltx

        return ltx
    raise InputError(f"video model family {family!r} is not supported; use one of {', '.join(FAMILIES)}")


def resolve_device(device: Any = None) -> Any:
    """A torch.device; CUDA requested without CUDA is an InputError naming the fix."""
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"device {device!r} was asked for but this machine has no usable CUDA GPU "
            f"(torch {torch.__version__}); use device 'cpu' (tiny models only) or run on a GPU machine",
            field="device",
        )
    return dev


def resolve_dtype(dtype: Any, device: Any) -> Any:
    import torch

    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    name = _DTYPES.get(str(dtype).lower(), str(dtype).lower())
    if name not in ("bfloat16", "float16", "float32"):
        raise InputError(f"dtype {dtype!r} is not one of bf16, fp16, fp32", field="dtype")
    return getattr(torch, name)


@dataclass
class VideoModel:
    """One loaded video model: the real modules plus what the loop needs to drive them."""

    family: str
    transformer: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler_config: dict[str, Any]
    device: Any
    dtype: Any
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # model_index extras, e.g. expand_timesteps
    offload: bool = False
    compiled: bool = False
    loras: dict[str, float] = field(default_factory=dict)
    image_encoder: Any = None  # CLIP vision model of Wan 2.1 image-to-video checkpoints
    image_processor: Any = None

    @property
    def fam(self) -> ModuleType:
        return family_module(self.family)

    @property
    def spatial_factor(self) -> int:
        """Width and height must be multiples of this (VAE downsampling × patch size)."""
        return self.fam.spatial_factor(self)

    @property
    def temporal_factor(self) -> int:
        """Frame counts must be ``temporal_factor·k + 1``."""
        return self.fam.temporal_factor(self)

    @property
    def fps(self) -> int:
        """Frame rate the family was trained at (Wan 2.1: 16, Wan 2.2 TI2V: 24, LTX-Video: 25)."""
        if "fps" in self.extra:
            return int(self.extra["fps"])
        if self.family == "wan" and int(getattr(self.vae.config, "z_dim", 16)) == 48:
            return 24  # Wan 2.2 TI2V 5B (48-channel VAE)
        return int(self.fam.FPS)

    @property
    def max_sequence_length(self) -> int:
        tok_max = getattr(self.tokenizer, "model_max_length", None) or 10**9
        return int(min(self.fam.MAX_SEQUENCE_LENGTH, tok_max))

    def sampler(self, shift: float | None = None) -> Any:
        from adloom.creative.video.sampler import FlowMatchEuler

        return FlowMatchEuler.from_scheduler_config(self.scheduler_config, shift=shift)

    def diffusers_scheduler(self, shift: float | None = None) -> Any:
        """diffusers' FlowMatchEulerDiscreteScheduler with the same settings our sampler uses."""
        return self.sampler(shift).scheduler()

    def diffusers_pipeline(self, shift: float | None = None) -> Any:
        """diffusers' own pipeline for this family, sharing these modules (reference runs, LoRA loading, saving)."""
        return self.fam.diffusers_pipeline(self, self.diffusers_scheduler(shift))

    def save_pretrained(self, path: str | Path) -> Path:
        """Write the standard diffusers folder layout (loadable by :func:`load_video_model` and diffusers)."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.diffusers_pipeline().save_pretrained(str(out))
        return out

    def modules(self) -> dict[str, Any]:
        mods = {"text_encoder": self.text_encoder, "transformer": self.transformer, "vae": self.vae}
        if self.image_encoder is not None:
            mods["image_encoder"] = self.image_encoder
        return mods


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not a readable JSON file ({exc}); expected {LAYOUT_HINT}", field="model") from exc


def detect_family(path: str | Path) -> str:
    """Family of a diffusers folder from ``model_index.json`` (or ``transformer/config.json``)."""
    p = Path(path)
    index = p / "model_index.json"
    if index.is_file():
        cls = str(_read_json(index).get("_class_name", ""))
        if cls in FAMILY_OF_PIPELINE:
            return FAMILY_OF_PIPELINE[cls]
        raise InputError(
            f"{p} holds a {cls or 'unknown'} pipeline; supported pipelines are {', '.join(FAMILY_OF_PIPELINE)}",
            field="model",
        )
    cfg = p / "transformer" / "config.json"
    if cfg.is_file():
        cls = str(_read_json(cfg).get("_class_name", ""))
        if cls in FAMILY_OF_TRANSFORMER:
            return FAMILY_OF_TRANSFORMER[cls]
    raise InputError(f"{p} is not a video model folder: no model_index.json; expected {LAYOUT_HINT}", field="model")


def _component_class(index: dict[str, Any], name: str, default: tuple[str, str]) -> Any:
    import importlib

    lib, cls = (index.get(name) or default)[:2]
    if lib is None or cls is None:
        lib, cls = default
    found = getattr(importlib.import_module(lib), cls, None)
    return found if found is not None else getattr(importlib.import_module(default[0]), default[1])


def load_video_model(
    path: str | Path,
    *,
    dtype: Any = None,
    device: Any = None,
    base: str | Path | None = None,
    vae_dtype: Any = None,
    offload: bool = False,
) -> VideoModel:
    """Load a model from a local diffusers folder, or a single transformer file on top of ``base``.

    Raises InputError for a missing path, a folder of an unsupported pipeline or
    with missing parts, and CUDA/offload asked for on a machine without CUDA.
    """
    import torch

    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"model path {str(path)!r} does not exist; pass {LAYOUT_HINT}", field="model")
    dev = resolve_device(device)
    if offload and dev.type != "cuda":
        raise InputError("offload moves model parts between CPU and a GPU; it needs device cuda", field="offload")
    dt = resolve_dtype(dtype, dev)
    if p.is_file():
        if base is None:
            raise InputError(
                f"{p} is a single file; pass base=<diffusers folder of the same family> for the VAE, text encoder "
                "and tokenizer (CLI: --base DIR)",
                field="model",
            )
        model = load_video_model(base, dtype=dt, device="cpu", vae_dtype=vae_dtype)
        model.transformer = _load_single_file(p, model, Path(base), dt)
        model.path = p
        return place(model, dev, offload=offload)

    family = detect_family(p)
    fam = family_module(family)
    index = _read_json(p / "model_index.json") if (p / "model_index.json").is_file() else {}
    if (index.get("transformer_2") or [None])[0]:
        raise InputError(
            f"{p} is a two-expert checkpoint (transformer_2, e.g. Wan 2.2 A14B), which this loop does not run; "
            "use a single-transformer checkpoint (Wan 2.1 T2V/I2V, Wan 2.2 TI2V 5B, LTX-Video)",
            field="model",
        )
    missing = [d for d in ("transformer", "vae", "text_encoder", "tokenizer") if not (p / d).is_dir()]
    if missing:
        raise InputError(f"{p} lacks {', '.join(m + '/' for m in missing)}; expected {LAYOUT_HINT}", field="model")
    from diffusers import AutoencoderKLLTXVideo, AutoencoderKLWan, LTXVideoTransformer3DModel, WanTransformer3DModel

    tr_cls = WanTransformer3DModel if family == "wan" else LTXVideoTransformer3DModel
    vae_cls = AutoencoderKLWan if family == "wan" else AutoencoderKLLTXVideo
    vdt = resolve_dtype(vae_dtype, dev) if vae_dtype is not None else (torch.float32 if family == "wan" else dt)
    te_default = ("transformers", "UMT5EncoderModel" if family == "wan" else "T5EncoderModel")
    try:
        transformer = tr_cls.from_pretrained(str(p), subfolder="transformer", torch_dtype=dt)
        vae = vae_cls.from_pretrained(str(p), subfolder="vae", torch_dtype=vdt)
        text_encoder = _component_class(index, "text_encoder", te_default).from_pretrained(
            str(p / "text_encoder"), dtype=dt
        )
        tokenizer = _component_class(index, "tokenizer", ("transformers", "AutoTokenizer")).from_pretrained(
            str(p / "tokenizer")
        )
        image_encoder = image_processor = None
        if (index.get("image_encoder") or [None])[0] and (p / "image_encoder").is_dir():
            from transformers import CLIPImageProcessor

            image_encoder = _component_class(index, "image_encoder", ("transformers", "CLIPVisionModel"))
            image_encoder = image_encoder.from_pretrained(str(p / "image_encoder"), dtype=dt).eval()
            image_processor = CLIPImageProcessor.from_pretrained(str(p / "image_processor"))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise InputError(
            f"could not load the {family} model in {p}: {exc}; expected {LAYOUT_HINT}", field="model"
        ) from exc
    sched = p / "scheduler" / "scheduler_config.json"
    scheduler_config = _read_json(sched) if sched.is_file() else {"shift": getattr(fam, "DEFAULT_SHIFT", 1.0)}
    extra = {k: v for k, v in index.items() if not k.startswith("_") and not isinstance(v, list)}
    model = VideoModel(family, transformer, vae, text_encoder, tokenizer, scheduler_config, dev, dt, p, extra)
    model.image_encoder, model.image_processor = image_encoder, image_processor
    reason = fam.check_supported(model)
    if reason:
        raise InputError(f"{p}: {reason}", field="model")
    text_encoder.eval()
    transformer.eval()
    vae.eval()
    return place(model, dev, offload=offload)


def _load_single_file(file: Path, model: VideoModel, base: Path, dtype: Any) -> Any:
    """A transformer from one file: diffusers-named keys load directly, original layouts via from_single_file."""
    import torch

    if file.suffix not in (".safetensors", ".pt", ".pth", ".ckpt", ".bin"):
        raise InputError(f"{file} is not a .safetensors/.pt/.ckpt/.bin checkpoint", field="model")
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(file))
    else:
        state = torch.load(str(file), map_location="cpu", weights_only=True)
    tr = model.transformer
    own = set(tr.state_dict())
    for prefix in ("", "transformer.", "model.diffusion_model."):
        keys = {k[len(prefix) :] for k in state if k.startswith(prefix)}
        if keys and keys == own:
            tr.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}, strict=True)
            return tr.to(dtype)
    try:
        return type(tr).from_single_file(
            str(file), config=str(base), subfolder="transformer", torch_dtype=dtype, local_files_only=True
        )
    except Exception as exc:  # noqa: BLE001 - diffusers raises many kinds here; the message carries it
        raise InputError(
            f"{file} does not match the {model.family} transformer of {base} (neither diffusers keys nor an "
            f"original layout diffusers can convert): {exc}",
            field="model",
        ) from exc


def place(model: VideoModel, device: Any = None, *, offload: bool = False) -> VideoModel:
    """Move modules to ``device`` (or keep them on CPU and move per stage when ``offload``)."""
    dev = resolve_device(device if device is not None else model.device)
    if offload and dev.type != "cuda":
        raise InputError("offload moves model parts between CPU and a GPU; it needs device cuda", field="offload")
    model.device = dev
    model.offload = offload
    target = "cpu" if offload else dev
    for module in model.modules().values():
        module.to(target)
    return model


def compile_blocks(transformer: Any, **compile_kwargs: Any) -> int:
    """Regional ``torch.compile`` of the transformer's repeated blocks; returns how many were compiled.

    diffusers' ``compile_repeated_blocks`` compiles each block module (``module.compile()``), so whatever
    wraps the block's ``forward`` later is traced too; the First Block Cache hooks (see :mod:`.cache`) call
    ``inspect.signature`` and cannot be traced with ``fullgraph=True`` (dynamo: "Unexpected type in
    sourceless builder"). We compile each block's own ``forward`` instead: the cache hooks, installed per
    generation, then wrap the compiled function and run eagerly around it.
    """
    import torch

    names = set(getattr(transformer, "_repeated_blocks", None) or ())
    count = 0
    for module in transformer.modules():
        if type(module).__name__ in names:
            module.forward = torch.compile(module.forward, **compile_kwargs)
            count += 1
    if count == 0:
        raise InputError(
            f"{type(transformer).__name__} declares no repeated blocks to compile; run without compile",
            field="compile",
        )
    return count


def configure(
    model: VideoModel,
    *,
    compile: bool = False,
    vae_tiling: bool = False,
    vae_slicing: bool = False,
    offload: bool | None = None,
    compile_mode: str | None = None,
    attention: str | None = None,
) -> VideoModel:
    """Speed and memory options: regional ``torch.compile`` of the transformer blocks, VAE tiling/slicing, offload,
    and the attention kernel (``attention``: diffusers backend name; default ``native`` = PyTorch SDPA, which
    picks flash/memory-efficient kernels on GPU; ``_native_flash``, ``_native_cudnn``, ``flash`` (flash-attn
    package), ``sage`` … are GPU-only)."""
    if offload is not None and offload != model.offload:
        place(model, model.device, offload=offload)
    if attention is not None and attention != "native":
        if model.device.type != "cuda":
            raise InputError(
                f"attention backend {attention!r} is GPU-only; on CPU use 'native' (PyTorch SDPA)", field="attention"
            )
        try:
            model.transformer.set_attention_backend(attention)
        except (ValueError, ImportError, RuntimeError, KeyError) as exc:
            raise InputError(
                f"attention backend {attention!r} is not available here ({exc}); use 'native' (PyTorch SDPA) or "
                "'_native_flash', or install the backend's package",
                field="attention",
            ) from exc
    if vae_tiling:
        model.vae.enable_tiling()
    if vae_slicing:
        model.vae.enable_slicing()
    if compile and not model.compiled:
        if model.device.type != "cuda":
            raise InputError(
                "compile targets the GPU kernels (inductor/triton); it needs device cuda — leave it off on CPU",
                field="compile",
            )
        kwargs: dict[str, Any] = {"fullgraph": True}
        if compile_mode:
            kwargs["mode"] = compile_mode
        compile_blocks(model.transformer, **kwargs)
        model.compiled = True
    return model


def load_lora(model: VideoModel, path: str | Path, *, scale: float = 1.0, adapter_name: str | None = None) -> str:
    """Add a LoRA (a file, or a folder with one .safetensors) to the transformer; returns its adapter name.

    Accepts what ``<Family>Pipeline.save_lora_weights`` writes (keys prefixed
    ``transformer.``) and the other layouts diffusers' LoRA loaders convert.
    Several LoRAs stack; each keeps its own ``scale``.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"LoRA path {str(path)!r} does not exist", field="lora")
    kwargs: dict[str, Any] = {}
    if p.is_dir():
        files = sorted(p.glob("*.safetensors"))
        if len(files) != 1:
            raise InputError(
                f"LoRA folder {p} must hold exactly one .safetensors file, found {len(files)}", field="lora"
            )
        kwargs["weight_name"] = files[0].name
    name = adapter_name or f"lora{len(model.loras)}"
    if name in model.loras:
        raise InputError(f"a LoRA named {name!r} is already loaded", field="lora")
    pipe = model.diffusers_pipeline()
    try:
        pipe.load_lora_weights(str(p), adapter_name=name, **kwargs)
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        raise InputError(f"{p} is not a LoRA for this {model.family} transformer: {exc}", field="lora") from exc
    model.loras[name] = float(scale)
    model.transformer.set_adapters(list(model.loras), weights=list(model.loras.values()))
    if not model.offload:
        model.transformer.to(model.device)
    return name


def build_tiny(family: str, seed: int = 0, *, num_layers: int = 2, image_to_video: bool = False) -> VideoModel:
    """The real classes of ``family`` at tiny size, random weights from ``seed``, no downloads (CPU, float32).

    Tokenizer: ``ByT5Tokenizer()`` (bytes, builds without files); text encoder: a
    2-layer UMT5 (Wan) or T5 (LTX) encoder from config. Wan: 16× spatial factor
    (VAE 8 × patch 2), 4k+1 frames. LTX: 4× spatial, 4k+1 frames.
    ``image_to_video`` (Wan): the Wan 2.1 I2V layout — 36 input channels, a tiny
    CLIP vision encoder for image tokens, and 512 text tokens (diffusers'
    attention processor hard-codes that length for I2V checkpoints).
    """
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    tokenizer = ByT5Tokenizer()
    tokenizer.model_max_length = 32
    te_kwargs = dict(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8,
    )  # fmt: skip
    if family == "wan":
        from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel

        text_encoder = UMT5EncoderModel(UMT5Config(**te_kwargs))
        i2v = dict(in_channels=36, image_dim=32, added_kv_proj_dim=24) if image_to_video else dict(in_channels=16)
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, out_channels=16,
            text_dim=32, freq_dim=32, ffn_dim=32, num_layers=num_layers, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=32, **i2v,
        )  # fmt: skip
        vae = AutoencoderKLWan(
            base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
        )
        scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    elif family == "ltx":
        from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

        text_encoder = T5EncoderModel(T5Config(**te_kwargs))
        transformer = LTXVideoTransformer3DModel(
            in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=2,
            attention_head_dim=8, cross_attention_dim=16, num_layers=num_layers, caption_channels=32,
        )  # fmt: skip
        vae = AutoencoderKLLTXVideo(
            in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
            decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
            decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False,) * 5,
            upsample_residual=(False,) * 4, upsample_factor=(1,) * 4, timestep_conditioning=False,
            patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
        )  # fmt: skip
        scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True)
    else:
        family_module(family)  # raises the InputError
        raise AssertionError
    for m in (text_encoder, transformer, vae):
        m.eval()
    cpu = torch.device("cpu")
    model = VideoModel(family, transformer, vae, text_encoder, tokenizer, dict(scheduler.config), cpu, torch.float32)
    if image_to_video:
        if family != "wan":
            raise InputError("image_to_video tiny builds exist for the wan family only", field="family")
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

        tokenizer.model_max_length = 512
        model.image_encoder = CLIPVisionModel(
            CLIPVisionConfig(hidden_size=32, intermediate_size=37, projection_dim=32, num_hidden_layers=2,
                             num_attention_heads=4, image_size=32, patch_size=8)
        ).eval()  # fmt: skip
        model.image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return model
