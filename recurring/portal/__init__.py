"""Portal pages of the recurring app: plans list and plan detail."""
