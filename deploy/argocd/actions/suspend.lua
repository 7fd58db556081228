-- Suspends the object: spec.suspend true; nothing is written to DataTrails or to Secrets until resumed.
-- If spec.suspend is in Git, change it there instead: a sync puts Git's value back.
obj.spec.suspend = true
return obj
