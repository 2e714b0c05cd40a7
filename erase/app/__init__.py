"""The Gradio before/after app (`python app.py`): pick an erased run, type a prompt, see the base model and the
erased one side by side with the concept detector's verdict under each.

`shell.py` is the frame (the shared run picker, the tab row, launching); `tabs/` holds one module per tab
(Compare, Report, Erase), listed in `tabs.TABS`; `catalog.py` reads run directories under the runs root only;
`models.py` keeps models loaded; `sampling.py` draws several pipelines in one sampler loop.
"""
