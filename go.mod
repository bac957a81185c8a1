module github.com/iperfmon/iperfmon

go 1.26.0
