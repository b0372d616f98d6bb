import Foundation

/// Files written by desispec 0.70's own writers (io.write_frame, io.write_image), gzipped and base64-encoded, so that
/// the test of our readers on desispec output runs without the Python reference environment. Made by
/// `NSPEC=3 NWAVE=24 /work/refenv/bin/python scripts/make_desispec_reference_files.py DIR; gzip -9 -n DIR/*.fits`.
/// Contents (see that script): flux[i, j] = i + 0.01 j, ivar 2, mask[1, 7] = 2**31 + 4, wave 5800 + 0.8 j,
/// resolution Resolution(sigma = 1.3) (21 diagonals), fibermap FIBER 500-502; preproc 5x7 with pix[3, 4] = 34,
/// mask[3, 4] = 16, mask[0, 0] = 0x8002, readnoise 2.5, camera b1.
enum DesispecWrittenFiles {
    static let frameR1GzBase64 = [
        "H4sIAAAAAAACA+2cW2zbVBjHO8ZllKtEkeBlO4iHAFoz33IbS2wncVN3SZzGTteOosltnSxbm3aJK1H2wkUFBIiCAEErkJDGA5dR",
        "GIxSeEAwJJ6650q89Q3YHtmeOXZcaLuml/iYbuz7SZ9Se9/+/ef4cuxPX48qZ3JpCaEoWgcNHUCDo5XiaHWkhsxR1CFrKqqZemVI",
        "rw6hdYnLWk7uXVevnWWwnl6t6hNoSDd1ZE6MGWgTsmKvrKIG/iy9yvjIgFFFo8Vl5fKIUamVRyu1xnr0+noMh7aNrcc08MduX0/q",
        "1aRssuHx2DYJMSPlRUvPV6Xru3zIBR1psUfJ23q1wbJRGTTc6WXlVKd2zfFlKCZA0RTdzPjl5GSD8yUSaeL7ynEpn5Gz6+gFKGr7",
        "ekkplxUzFIXHb2zCPD5acXk8sF6PlLf1WD9N+0Pu9Sx/NNbDV9bYBCLjz9Jj/Jw/iMj4Y+rnHzF/lh7tp0N+mow/FuvpNbM6ih2S",
        "8Gfphf2UnyE0fhzWm9BHhhGh8bP0gtgfS8hfAOsVyya+j5PxF7CPL0ds/IJYb8iolcfN8jAJf5Yeh8ePJuQv5PirjRmDJPxZepQ/",
        "RPkpMv7Cjj9Tr5YM0+faX9geP86yR8RfBOslJVU+llcUzed+/Cy9rKIdUyWNhD+aWvan5qSElleOJUVN9DXtz9Yj6Y9e6y8vJQu9",
        "vqb90YT9Wfd7y1ouryQJXB+2Hkl/7NrxS4hpOd78+LGE/XHL/uKiKqvHNAm/RYiapPqa9McR9hdY9qeJ+ZTk4gp2/AUI+ws6/jJK",
        "Ukq7v7/YekT84fcP7E+ynu870oVe188HiU4pcVgtZLBeV1E0uo4GBrqGxAHr09I9gDqTBTR43Bg8WRsfQeNj+MXQGLKe/4PtNN3O",
        "MBodOcjRBwPLr1LWfQ7LWf4YOsIEaY4NBf51eKD+ZjleKZtbU7VftgAAAAAA+E9pwRx6dLH10BkcVy5MRfHP0fTCxeg4/nmq//Eo",
        "3h+d774cXcD7llKzUZwTu23vfOy+/sdjD0/PxHB+zN92OhbuvhyLT/XH8P+NHWmNxvTUbOzk5D7+uZYW/vnULP/CVD//4mIrP7l3",
        "nn+pWORfnm3jX7nyC/9q9BT/Gs57feEi/0bbaR7/Tv7NM4v8W5cm+bdZln/n2SX+3QtT/HutUf797sv89PQMP7PUyX/w2FX+w7GP",
        "BexfaDmzKOxKzQq7Lk0Kt0z1C7tZVti92Crc+uySgL0Kt12YEm4vFoU7WqPCHbNtwp7uy8KeK78Id07PCK3RU0LrUqdw1+Q+4e7H",
        "rgp3L1wU7sG697adFu6dz7cAAAAAAAAAwAqsdgFVVrJR5JMzYkpaU687gOQRvWQg4xmz3hWx2fM49G+soIn+jVxCKWS1BnrUqu87",
        "plf1EcM0qrUN9FIb6dGr9ErV0fGx2tbru3KPmEfXnC//nikV7G479V2mu5Rhs6U044Tb+i4dru9a7Q/quwAAAAAAuKRev4VoFAAA",
        "AAAAAACwQ/VnBPXnG7/+HFcTYsO/N23i7/3iR6W8sub4MjQX4sJskAtvX29FfTwjqodJ1sclY7DcYRwtSoaOo6/ovv+5/jXDIeh/",
        "BgAAAIAbiufwM/ROBebWnfz9W/QIAAAAAAAAADtRf24PcoTrz/TO159voH7lI2KPlJayKa3T13w9Nl7IyvX15nxipWSt0DVCan2L",
        "bF8lovQNR7JOuK3vsiGGZRk2TEF9FwAAAAAAkghzn9jP0fhzAXNRmPt0GjMjzH1WtBDmPmcthLmzTt5ZJ+8LJ2/WyfvSyfvKyfvK",
        "yTvn5H3t5H3j5J138s47ed86eXNO3ndO3ryTN+/kfe/k/WDnwRsQAAAAAAAA8H+tPxPvf2av7/5nhm5Sj70p1/PIS6qSLmj4ZHRR",
        "H19Rz46fOiHGK6UADuuTdb2eRyTMUmyYCbBQzwYAAACAm5onHvqoxcvw73nwfi+DfvnHR7wM7r2ff/MyQrE3jngZkZfOPeBlPNlz",
        "adrLOHThrm+9jOivP6W8jFipRHka04VHPA2P/Xs9/l6fP16f/15fv17ff7y+f3p9//d6/vJ6/oX5HeZ3mN9hfof5HeZ3mN9hfof5",
        "HeZ3mN9hfof5HeZ3mN+v//kdAAAAAAAAABr0P8flrCbG09Lq/ueBckWvTiBTHxjeShv0Rus/o/D1vf4zHcB6w0alZB639P5R2mhd",
        "403Wf15fjyHSr2z3F2/WtUy6X1nrkKV0Ut1KP3r9lCmWjeGhxqqa1peT7OPh65DjUv6a/vuOsiUnJxEeN/O4gRKJZA09RbVzkUjk",
        "6fX8KflMXa/L2eVqfRDbn318fZqYT0manFztr1Apnxo3UFJSZfyNqyXDtMxuMH7YX13vMDF/dr+8T4l3WRtrxk8ZOGEMmva1dhBp",
        "KW0/Ug/37UdZJbsfxcXkuv7qeqxIwN+K/nb7+GbEHKn1Wsp6Th7WFLncVw+3/e0cHQ6yHBcIBqG/HQAAANiElpZdf9WfpHf/jmdX",
        "vHnF2fwDz7N486qz+af9rwAAAAAAAABwU/M3ZVZhmMCoAAA=",
    ].joined()

    static let preprocB1GzBase64 = [
        "H4sIAAAAAAACA+2bv2/bRhTH2R9AOwYo0K3AbUqAROFRJGUHKOKTdLGJSCJB0omjxaUk2iIiiQJJI1GXplvGjh079k/o1owdO3bs",
        "mDFju/UdRSOyI8mWdIODvg/wTFmgvvjeHe94fHf0rJbT5IR8Sxbgk/ukF49P4mSUkiwmjyzfI2kWjPtB0icLqVm+Yx0t1LtX0UAv",
        "SJJgSvpBFpBsOgnJFbTZkeWRJf6E3vhs1A0TEp+cK0ejcJxG8ThdrkeX6FXJ2uR62hI9Y309fuTzdmNpe6xNnbW4y4ReqUtnX5XI",
        "FvAjx2osaY/d3Q3qz9o/8D/Q01TNUKlK19drcKfNWqoK5Z1Ms0E83rK8oPeEu7lepUxpubq9nvBHQQ+u3MmUyPEn9LSyXjaJHH8a",
        "6KW9SJo/oUfLtFqmcvxVQC9IsyQGhzL8Cb2dslrWJNWfDnrTYDQkkupP6JngryLJnwF6J1EG46Qcf0bevrq0+jNBrx+m0VkWDWX4",
        "E3o61B+V5K9a+EsnYU+GP6GnlqtqWZXjb6fwlwXJaZiVtva3k9efLuxJ8bcLeg3uWceubful7etP6LVt/9jjvgx/VD335zm87rv2",
        "cYP5rLSxv1xPpj962Z/LG4dHpY39Ucn+xHgvrDmu3ZDQP3I9mf4ql+uvzppWbfP6q0j2p5/7qzHP8o59DrN05nOvtKE/XbI/49yf",
        "z9x9vkUPLvwZkv2Zhb+W3eDN7ceXXE+KP5jfgz8u5uNWi+3zS+PpfRK+zGbPL2QcjK58PCL1A15/7B22hL+BVrdPKGsXUcr1DhqH",
        "pDcIe8/TsxE5m8CDV9gX82vzHqX3NM2nuw90+sConJcXxjmQE/7Mqmaa1KB6ad5f/uR2No6y66nmDzMIgiAIgiBzvNlTlDeKovz+",
        "Ssl5CEf4StmDP3vi8y8QcMLe34rC4Ht2C4JAqBBwDnMgvoOYQMD57DXETxA/Q8Bv2a+KUvsSjr9BgA77A+JPiL8ghOZbiHcQ/ygI",
        "giAIgiAIcuMR2wU8y24vzSdao+A0nMsqXgHu35hjg/0bTt0+bPtL9NQL5Z0ESTAKszBJV+jtr9KjF/ROk/hskq6Rf37CXCIx/zzs",
        "s8a4YzA4smGnsnX+WdvVqqama6pawvwzgiAIgiDyEPnmmxIIgiAIgiAI8hHln2tW22e1Jr+YT+xG4yCZkizoDq+Thl6RfyZk54bn",
        "n4W/F1E/Gwi5WYmjMelOszDdMP887y+JX6RCbya8Qf65on2YL74qCy07/+w/sniz4V1H7yQKh/28xGHQG4jiL9Lznzk8b49S3W45",
        "Lvc83tj4bQ3hz3ZbMz3q1G5T8852+707xarM0vdr33eJXjzOggiuu148miRhmoZ9EuWrN/N6ktd7OkWHW+SPmuv3t07R4WT1t07R",
        "4WSt93SKDidrvadTdDhZ6z2d/RV6G/S3jm81+fL1svskjb4P8+EqGob5S97dcP4CXKinrRgP1tWrtxzRheF6dq06P6aXr+fz34pr",
        "ORiexkmUDUYr27dVjAe1pl1/7FkdXlqm1x3Gveczx0v1nrAmJSvG00n0MhymZAJtMpO78vprzeqvVHvmc9H1Lt0v87uFkMuVyW16",
        "l2h3iX6XxAnZubPIn7bq/ram3tz6YIt5jz9cH8xXBUX7DqL0Gjf3ufVBHrhV/tQxeABx6Bjbrg/qmm7oBtUME9cHkY8UmELfKqbS",
        "nxWfxfEriC8gvi7+/+bVp28V5Yd/lc/hlL1P3s+/D16/+vEdPoYgCIIgCIIg/7/8M+5/xv3P6+x/djlrtG3Lu5gf2nz/81O3yp66",
        "pgpRFbFtfqOi7eqmZuzg/mcEQRAEQaSyRxTlpgSCIAiCIAiC3HT+AzOuCaNAZQAA",
    ].joined()
}
