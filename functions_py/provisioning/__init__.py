"""Provisioning: the saga engine (saga.py) and the providers behind one interface (provider.py: local.py, aws.py)."""
