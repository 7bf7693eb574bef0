"""The science of the project: human maps, ANN attention, comparison, masking and statistics.

Stages in `stages/` are thin entry points over these modules.
"""
