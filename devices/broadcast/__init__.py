"""The media engines: the program feed, the mix, pushed devices, WebRTC tracks, HLS and its relay."""
