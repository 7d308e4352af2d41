"""The app's pages, run by path through st.navigation (see labeling_app/app.py)."""
