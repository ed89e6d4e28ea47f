; NSIS (per-machine): the machine policy directory, %ProgramData%\Holdfast, where an
; administrator puts policy.json. Its ACL is replaced so that only Administrators and
; SYSTEM can write there and Users can only read: otherwise ProgramData's inherited
; rights would let any user create a policy.json (and choose the brokers, or the
; update feed, for everyone). Uninstalling leaves the directory and the policy.

!macro customInstall
  SetShellVarContext all
  CreateDirectory "$APPDATA\Holdfast"
  ; S-1-5-32-544 Administrators, S-1-5-18 SYSTEM, S-1-5-32-545 Users
  nsExec::ExecToLog 'icacls "$APPDATA\Holdfast" /inheritance:r /grant:r "*S-1-5-32-544:(OI)(CI)F" "*S-1-5-18:(OI)(CI)F" "*S-1-5-32-545:(OI)(CI)RX"'
  Pop $0
!macroend

!macro customUnInstall
  ; The policy belongs to the administrator: it stays.
!macroend
