"""The rights centre: public pages that explain a borrower's rights, and the signed-in forms
that exercise them (dispute a debt, ask for documents, choose how to be contacted)."""
