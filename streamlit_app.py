"""Spotter's page. The live coaching UI arrives with the live-app issue; for now it analyses an upload."""
import tempfile
from pathlib import Path

import streamlit as st

st.set_page_config(page_title="Spotter", layout="wide")
st.title("Spotter — local workout form coach")
st.caption("Runs entirely on this computer. Not a medical device: it does not diagnose or prevent injuries.")

up = st.file_uploader("Analyse a recorded set", type=["mp4", "mov", "m4v", "webm", "avi"])
if up is not None:
    from pipeline.analyze import analyze_file
    from pipeline.errors import SpotterError

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / Path(up.name).name
        src.write_bytes(up.getbuffer())
        try:
            with st.spinner("Analysing..."):
                res = analyze_file(src, Path(d) / "out")
        except SpotterError as e:
            st.error(str(e))
        else:
            rep = res.report
            st.write(f"Person found on {rep.pose.detected_ratio:.0%} of frames")
            for w in rep.qc.warnings:
                st.warning(w.message)
            vid = Path(d) / "out" / "annotated.mp4"
            if vid.exists():
                st.video(vid.read_bytes())
            st.json(rep.model_dump(mode="json"), expanded=False)
