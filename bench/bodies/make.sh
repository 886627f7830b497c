#!/bin/sh
# Rebuilds the benchmark bodies in this folder from the fixture events
# (tests/fixtures/events), form-encoded as a portal sends them.  The
# bodies are checked in; run this only to change them.
set -eu
cd "$(dirname "$0")"
fx=../../tests/fixtures/events
m='data%5BMESSAGES%5D'

# dialog start: the fixture as it is
cp "$fx/ONIMCONNECTORDIALOGSTART.form" dialogstart.form

# a three-message add: MESSAGES[0] of the fixture, then [1] and [2] with
# their own Bitrix and external ids and text
msg() { # index message_id text
	printf '&%s%%5B%s%%5D%%5Bim%%5D%%5Bchat_id%%5D=1807' "$m" "$1"
	printf '&%s%%5B%s%%5D%%5Bim%%5D%%5Bmessage_id%%5D=%s' "$m" "$1" "$2"
	printf '&%s%%5B%s%%5D%%5Bmessage%%5D%%5Buser_id%%5D=27' "$m" "$1"
	printf '&%s%%5B%s%%5D%%5Bmessage%%5D%%5Btext%%5D=%s' "$m" "$1" "$3"
	printf '&%s%%5B%s%%5D%%5Bchat%%5D%%5Bid%%5D=channel-123' "$m" "$1"
}
extra="$(msg 1 86498 '%5Bb%5DKlaus+Weber%3A%5B%2Fb%5D+%5Bbr%5DIch+habe+eine+Frage+zu+meiner+Bestellung.')$(msg 2 86499 '%5Bb%5DKlaus+Weber%3A%5B%2Fb%5D+%5Bbr%5DDie+Nummer+ist+4711-0815%2C+vielen+Dank%21')"
one=$(cat "$fx/ONIMCONNECTORMESSAGEADD.form")
printf '%s%s&ts=%s' "${one%%&ts=*}" "$extra" "${one#*&ts=}" >messageadd3.form

# refused: a forged token for a listed portal (403 token_mismatch) and
# a portal that is not listed (403 unknown_portal)
sed 's/application_token%5D=[0-9a-z]*/application_token%5D=forgedforgedforgedforgedforged12/' \
    messageadd3.form >forged.form
sed 's/member_id%5D=[0-9a-f]*/member_id%5D=0123456789abcdef0123456789abcdef/' \
    dialogstart.form >unknown.form

cp "$fx/ONOPENLINEMESSAGEADD.form" openlinemessageadd.form
cp "$fx/ONIMCONNECTORMESSAGEUPDATE.form" messageupdate.form
