"""Media layer: probe files, decode frame-exact frames and 16 kHz audio, draw waveforms.

Everything runs in-process on PyAV (its wheels bundle FFmpeg), so no ffmpeg CLI is needed.
Import from the submodules (`probe`, `decode`, `waveform`, `synth`); this package re-exports
nothing, so `mmla_core.media.probe` is always the module, never the function of that name.
"""
