"""GitOps: what a change to the policy repository means, said where it is reviewed.

* ``revisions`` reads a policy repository at a git revision (``git archive``);
* ``semdiff`` is the semantic diff of two loaded repositories (pure) and the
  CG405 check of approvals copied onto changed content;
* ``render`` and ``comment`` turn a diff into text/markdown/json and a pull-request comment;
* ``recertify`` lists grants that expire soon and writes renewal drafts;
* ``codequality`` is GitLab's code-quality report format for ``validate``.
"""
