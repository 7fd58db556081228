-- Resumes the object: spec.suspend false; the operator picks up what is due.
-- If spec.suspend is in Git, change it there instead: a sync puts Git's value back.
obj.spec.suspend = false
return obj
