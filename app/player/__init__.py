"""The clip player: video frames, audio output, the waveform."""
